import { ValueTransformer } from 'typeorm';

/** BIGINT columns as JS numbers (mysql2 may hand them over as strings). Only for values ≤ 2^53 − 1. */
export const bigintColumn: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
