model base = llama(vocab: 64)
