/**
 * The DataSource the TypeORM CLI uses (`npm run migration:run|revert|generate`, which build
 * first and load `dist/ormconfig.js`). Same settings as the app: src/core/database.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { createDataSourceOptions } from './src/core/database/data-source-options';

if (existsSync('.env')) process.loadEnvFile('.env');

export default new DataSource(
  createDataSourceOptions(loadConfig(process.env), [join(__dirname, 'src', 'modules', '**', '*.entity.{js,ts}')], undefined, 'cli'),
);
