/** The users cache (`CacheAside`): one entry per user, without the password hash. */
export const USER_CACHE = 'user';

export const userCacheKey = (id: string) => `user:${id}`;
