/** Every REST route lives under this prefix (CONTRACT.md). */
export const API_PREFIX = 'api/v1';
