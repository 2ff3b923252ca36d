package limits

import (
	"fmt"
	"testing"
)

func TestCapNames(t *testing.T) {
	names := map[string]int64{}
	var total int64
	for i := 0; i < 20; i++ {
		names[fmt.Sprintf("n%02d", i)] = int64(i + 1)
		total += int64(i + 1)
	}
	names["(other)"] = 7 // from an earlier cap
	total += 7
	got := CapNames(names, 5)
	if len(got) != 6 {
		t.Fatalf("kept %d names, want 5 + (other): %v", len(got), got)
	}
	var sum int64
	for _, v := range got {
		sum += v
	}
	if sum != total {
		t.Errorf("sum after cap = %d, want %d", sum, total)
	}
	for i := 15; i < 20; i++ {
		if _, ok := got[fmt.Sprintf("n%02d", i)]; !ok {
			t.Errorf("top name n%02d folded", i)
		}
	}
	if want := int64(7 + 15*16/2); got["(other)"] != want {
		t.Errorf("(other) = %d, want %d", got["(other)"], want)
	}
	small := map[string]int64{"a": 1}
	if got := CapNames(small, 5); len(got) != 1 || got["a"] != 1 {
		t.Errorf("a small map changed: %v", got)
	}
}
