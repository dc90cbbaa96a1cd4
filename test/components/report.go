package components

import (
	"encoding/json"
	"fmt"
	"os"
)

// WriteReport prints a benchmark's markdown and writes it to mdPath, and
// its results as indented JSON to jsonPath (the charts read these); an
// empty path skips that file.
func WriteReport(markdown, mdPath string, results any, jsonPath string) error {
	fmt.Print(markdown)
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(markdown), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", mdPath, err)
		}
	}
	if jsonPath == "" {
		return nil
	}
	data, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the results: %w", err)
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", jsonPath, err)
	}
	return nil
}
