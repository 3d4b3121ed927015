package redact

// automaton is an Aho–Corasick matcher over ASCII-lower-cased bytes,
// compiled to a full transition table over byte classes: one table load
// per input byte. Patterns are found at their end offset.
type automaton struct {
	class  [256]uint8 // input byte -> class (of its lower-case form)
	nclass int
	next   []int32 // state*nclass + class -> state
	depth  []int32 // length of the longest pattern prefix a state stands for
	out    [][]int32
	hasOut []bool
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// newAutomaton builds the matcher for pats (already lower-cased); out
// lists, per state, the indexes of the patterns that end there.
func newAutomaton(pats [][]byte) *automaton {
	a := &automaton{}
	// Classes: one per byte that occurs in a pattern, 0 for the rest.
	var seen [256]bool
	for _, p := range pats {
		for _, c := range p {
			seen[c] = true
		}
	}
	var cls [256]uint8
	n := 1
	for c := range 256 {
		if seen[c] && n < 256 {
			cls[c] = uint8(n)
			n++
		}
	}
	a.nclass = n
	for c := range 256 {
		a.class[c] = cls[lower(byte(c))]
	}
	// The trie.
	type node struct {
		child map[uint8]int32
		fail  int32
		out   []int32
		depth int32
	}
	nodes := []node{{child: map[uint8]int32{}}}
	for i, p := range pats {
		s := int32(0)
		for _, c := range p {
			k := cls[c]
			nx, ok := nodes[s].child[k]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{child: map[uint8]int32{}, depth: nodes[s].depth + 1})
				nodes[s].child[k] = nx
			}
			s = nx
		}
		nodes[s].out = append(nodes[s].out, int32(i))
	}
	// Breadth first: fail links, inherited outputs, full transitions.
	a.next = make([]int32, len(nodes)*n)
	a.depth = make([]int32, len(nodes))
	a.out = make([][]int32, len(nodes))
	a.hasOut = make([]bool, len(nodes))
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nd := &nodes[s]
		if s != 0 {
			nd.out = append(nd.out, nodes[nd.fail].out...)
		}
		a.out[s] = nd.out
		a.hasOut[s] = len(nd.out) > 0
		a.depth[s] = nd.depth
		for k := range n {
			if c, ok := nd.child[uint8(k)]; ok {
				if s == 0 {
					nodes[c].fail = 0
				} else {
					nodes[c].fail = a.next[int(nd.fail)*n+k]
				}
				a.next[int(s)*n+k] = c
				queue = append(queue, c)
			} else if s != 0 {
				a.next[int(s)*n+k] = a.next[int(nd.fail)*n+k]
			}
		}
	}
	return a
}
