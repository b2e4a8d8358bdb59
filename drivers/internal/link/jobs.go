package link

import "sync"

// JobState tracks whether a job is being printed (between BeginJob and
// EndJob), so polls wait for the gap between jobs.
type JobState struct {
	mu sync.Mutex
	id string
	in bool
}

// Begin marks the start of job id.
func (j *JobState) Begin(id string) {
	j.mu.Lock()
	j.id, j.in = id, true
	j.mu.Unlock()
}

// End marks the end of the current job.
func (j *JobState) End() {
	j.mu.Lock()
	j.in = false
	j.mu.Unlock()
}

// InJob reports whether a job is in progress, and its id.
func (j *JobState) InJob() (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.id, j.in
}
