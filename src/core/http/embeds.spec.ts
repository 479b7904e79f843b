import { ValidationError } from '../errors/app-error';
import { Embed, Embeds } from './embeds';

class Thing {}

const embed = (
  name: string,
  load: Embed['load'] = (ids) => Promise.resolve(new Map(ids.map((id) => [id, [`${name} of ${id}`]]))),
): Embed => ({
  into: 'users',
  name,
  schema: Thing,
  description: name,
  load,
});

describe('Embeds', () => {
  it('loads what include names, once for all the owners, an owner without any getting an empty list', async () => {
    const embeds = new Embeds();
    const load = jest.fn((ids: readonly string[]) => Promise.resolve(new Map([[ids[0]!, ['a0']]])));
    embeds.register(embed('accounts', load));
    embeds.register(embed('other'));
    const loaded = await embeds.load('users', 'accounts', ['u1', 'u2']);
    expect(load).toHaveBeenCalledTimes(1);
    expect(load).toHaveBeenCalledWith(['u1', 'u2']);
    expect(loaded).toEqual(
      new Map([
        ['u1', { accounts: ['a0'] }],
        ['u2', { accounts: [] }],
      ]),
    );
  });

  it('loads nothing without include', async () => {
    const embeds = new Embeds();
    const load = jest.fn();
    embeds.register(embed('accounts', load));
    expect(await embeds.load('users', undefined, ['u1'])).toBeUndefined();
    expect(load).not.toHaveBeenCalled();
  });

  it('refuses a name nothing registered, or one registered into another resource, as a validation error on include', async () => {
    const embeds = new Embeds();
    embeds.register(embed('accounts'));
    embeds.register({ ...embed('members'), into: 'teams' });
    for (const include of ['bogus', 'members', 'constructor', '__proto__']) {
      const refused = embeds.load('users', include, ['u1']);
      await expect(refused).rejects.toBeInstanceOf(ValidationError);
      await expect(refused).rejects.toMatchObject({ details: { include: ['include must be one of the following values: accounts'] } });
    }
  });

  it('refuses two embeds of one name into one resource', () => {
    const embeds = new Embeds();
    embeds.register(embed('accounts'));
    expect(() => embeds.register(embed('accounts'))).toThrow("Two embeds named 'accounts' into 'users'");
    embeds.register({ ...embed('accounts'), into: 'teams' });
    expect(embeds.all().map((e) => `${e.into}.${e.name}`)).toEqual(['users.accounts', 'teams.accounts']);
  });
});
