import { Logger } from '@nestjs/common';

// unit tests assert on behaviour, not on Nest's console logger
Logger.overrideLogger(false);
