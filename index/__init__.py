"""Index: encode sentences and chunks, store them as versioned generations, search them."""
