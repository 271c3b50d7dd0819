"""Market news: provider adapters feed the store; pages, frames and the SSE stream read it."""
