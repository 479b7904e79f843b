import { SetMetadata } from '@nestjs/common';

export const RAW_RESPONSE = 'app:raw-response';

/** Opts a route out of the envelope (e.g. `/metrics`, which speaks Prometheus text). */
export const RawResponse = (): MethodDecorator & ClassDecorator => SetMetadata(RAW_RESPONSE, true);
