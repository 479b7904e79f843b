import { Matches, ValidateIf } from 'class-validator';

/** Optional means "may be absent": an explicit null is validated (and refused) like any other value. */
export const Absent = (): PropertyDecorator => ValidateIf((_object: unknown, value: unknown) => value !== undefined);

/**
 * Length in code points, as the database counts it. (class-validator's Length skips some code
 * points, such as U+FE0F, so a "100-character" string could overflow a VARCHAR(100).)
 */
export const CodePoints = (min: number, max: number, message: string): PropertyDecorator =>
  Matches(new RegExp(`^[\\s\\S]{${min},${max}}$`, 'u'), { message });
