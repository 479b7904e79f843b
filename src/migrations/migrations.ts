import type { MigrationInterface } from 'typeorm';

type MigrationClass = new () => MigrationInterface;

/**
 * Every migration, oldest first. Listed here rather than globbed so the app, the CLI and the
 * tests (which run the TypeScript sources) load the same set. Each feature module adds its own.
 */
export const migrations: MigrationClass[] = [];
