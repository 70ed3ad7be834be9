package record

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Dataset is what a batch reads of its dataset file before it starts: its
// SHA-256, which Meta.DataSHA256 keeps for a resume to compare, and its
// number of lines that are not blank, for a progress's ETA.
type Dataset struct {
	SHA256 string
	Lines  int
}

// ScanDataset reads the dataset file at path once, with memory bounded
// however long its lines are.
func ScanDataset(path string) (Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, h), 256<<10)
	var d Dataset
	for {
		line, err := r.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			d.Lines++
		}
		for err == bufio.ErrBufferFull {
			// A long line, counted once: skip to its end.
			_, err = r.ReadSlice('\n')
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return Dataset{}, fmt.Errorf("read dataset: %w", err)
		}
	}
	d.SHA256 = hex.EncodeToString(h.Sum(nil))
	return d, nil
}
