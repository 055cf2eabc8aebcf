package modulemd

// ghashOrder returns keys (given in insertion order) in the order GLib's
// GHashTable with g_str_hash iterates them. libmodulemd writes translation
// entries by iterating such a table rather than sorting them, so byte
// compatibility needs GLib's bucket order: djb2 over signed chars, index
// (hash*11) % prime, quadratic probing, growth when the table is nearly
// full (rehashing in bucket order, which matches GLib for tables without
// collisions across the resize).
func ghashOrder(keys []string) []string {
	primeMod := [...]uint32{1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647}
	strHash := func(s string) uint32 {
		h := uint32(5381)
		for i := 0; i < len(s); i++ {
			h = h*33 + uint32(int32(int8(s[i])))
		}
		if h < 2 {
			h = 2
		}
		return h
	}
	shift := 3
	table := make([]int, 1<<shift) // index into keys, -1 empty
	hashes := make([]uint32, len(keys))
	for i := range table {
		table[i] = -1
	}
	insert := func(tab []int, mod uint32, ki int) {
		mask := uint32(len(tab) - 1)
		idx := (hashes[ki] * 11) % mod
		step := uint32(0)
		for tab[idx] != -1 {
			step++
			idx = (idx + step) & mask
		}
		tab[idx] = ki
	}
	n := 0
	for i, k := range keys {
		hashes[i] = strHash(k)
		dup := false
		for _, j := range table {
			if j >= 0 && keys[j] == k {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		insert(table, primeMod[shift], i)
		n++
		if size := len(table); size <= n+n/16 {
			newShift := 0
			for m := n * 2; m > 0; m >>= 1 {
				newShift++
			}
			if newShift < 3 {
				newShift = 3
			}
			nt := make([]int, 1<<newShift)
			for j := range nt {
				nt[j] = -1
			}
			for _, ki := range table {
				if ki >= 0 {
					insert(nt, primeMod[newShift], ki)
				}
			}
			table, shift = nt, newShift
		}
	}
	out := make([]string, 0, n)
	for _, ki := range table {
		if ki >= 0 {
			out = append(out, keys[ki])
		}
	}
	return out
}
