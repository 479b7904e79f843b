/** Largest amount one deposit or transfer may move (the contract's 10^15 minor units). */
export const MAX_AMOUNT = 1_000_000_000_000_000;
/** Largest balance: every integer up to here is exact in a JSON number (2^53 − 1). */
export const MAX_BALANCE = Number.MAX_SAFE_INTEGER;
