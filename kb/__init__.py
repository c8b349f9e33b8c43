"""hrtp-kb core: settings, store, embeddings, retrieval, readers and the verifier every answer passes."""
