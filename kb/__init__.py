"""hrtp-kb core: settings, store, embeddings, retrieval and the extractive, verified answerer."""
