//! Bearer tokens: HS256 JWT verification (the authorizer's job) and dev-token signing for chat-local.
