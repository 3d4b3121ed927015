package report

// trail notes a start or end record: the run's own records, not the job's.
func (b *builder) trail() {
	l := b.log
	switch string(b.raw.event) {
	case eventStart:
		l.Starts++
	case eventEnd:
		l.Ends++
	}
}
