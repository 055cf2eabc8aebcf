package modulemd

func readParallel(data []byte, name string, opts Options) ([]*Document, bool) {
	return nil, false
}
