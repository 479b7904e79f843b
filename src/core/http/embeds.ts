import { Global, Injectable, Module, Type } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ValidationError } from '../errors/app-error';

/**
 * One module's data embedded into another module's list, `?include=<name>`: accounts embeds a
 * user's accounts into `GET /users`. The owner of the list (users) knows no other module; each
 * module that has something to embed registers itself (`Embeds.register`, from a provider's
 * constructor: the OpenAPI document, which lists the embeds, is built before `onModuleInit`), and the list route declares which resource it serves (`@ApiEmbeds`).
 */
export interface Embed {
  /** The resource embedded into, as its route declares it: `@ApiEmbeds('users', …)`. */
  into: string;
  /** The `include` value, and the member of each item it fills. */
  name: string;
  /** One embedded item's OpenAPI model. */
  schema: Type<unknown>;
  description: string;
  /**
   * The embedded items of every owner id in one query for the whole page (never one per item);
   * an owner missing from the map gets an empty list.
   */
  load(ownerIds: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>>;
}

/** An item of a list, with what `include` asked for: `{ [embed.name]: items }`. */
export type Embedded = Readonly<Record<string, readonly unknown[]>>;

/** The registered embeds, by the resource they embed into. */
@Injectable()
export class Embeds {
  private readonly byResource = new Map<string, Map<string, Embed>>();

  register(embed: Embed): void {
    let named = this.byResource.get(embed.into);
    if (!named) this.byResource.set(embed.into, (named = new Map<string, Embed>()));
    if (named.has(embed.name)) throw new Error(`Two embeds named '${embed.name}' into '${embed.into}'`);
    named.set(embed.name, embed);
  }

  /** The embeds into `into`, in registration order. */
  of(into: string): Embed[] {
    return [...(this.byResource.get(into)?.values() ?? [])];
  }

  /** Every registered embed, for the OpenAPI document. */
  all(): Embed[] {
    return [...this.byResource.values()].flatMap((named) => [...named.values()]);
  }

  /**
   * What `include` asks for, for each item, loaded in one query per embed; `undefined` when
   * `include` is not set. An unknown name is 400 `VALIDATION_ERROR` on `include`, as the
   * validation pipe would answer it.
   */
  async load(into: string, include: string | undefined, ownerIds: readonly string[]): Promise<Map<string, Embedded> | undefined> {
    if (include === undefined) return undefined;
    const embed = this.byResource.get(into)?.get(include);
    if (!embed) {
      const names = this.of(into).map((e) => e.name);
      throw new ValidationError({ include: [`include must be one of the following values: ${names.join(', ')}`] });
    }
    const loaded = await embed.load(ownerIds);
    return new Map(ownerIds.map((id) => [id, { [embed.name]: loaded.get(id) ?? [] }]));
  }
}

@Global()
@Module({ providers: [Embeds], exports: [Embeds] })
export class EmbedsModule {}

/** The OpenAPI extension `@ApiEmbeds` leaves on an operation; `setupSwagger` replaces it. */
export const OPENAPI_EMBEDS = 'x-app-embeds';

/**
 * Declares that this list route takes `?include=` for the embeds into `into`, and that its items
 * are `model`s. The OpenAPI document then lists the registered names as the parameter's enum and
 * each embed as an optional member of `model`, whichever module registered it.
 */
export function ApiEmbeds(into: string, model: Type<unknown>): MethodDecorator {
  return ApiExtension(OPENAPI_EMBEDS, { into, model: model.name });
}
