// Package file is the preview printer: instead of paper, each job becomes
// files in a folder.
//
//	<job_id>.bin       exactly the bytes written for the job
//	<job_id>.png       the job drawn by Config.Render (omitted when nil)
//	<job_id>-paid.bin  a paid slip (the worker prints it as job
//	<job_id>-paid.png  drivers.PaidSlipID(job_id))
//
// The worker marks job boundaries through drivers.JobPrinter: BeginJob(id)
// opens .<id>.bin.part, Write appends to it, EndJob renames it to <id>.bin
// and then writes <id>.png, so a file that exists is complete. Bytes
// written outside a job go to unnamed-<unix nanoseconds>.bin, finished by
// the next BeginJob or Close.
//
// Render is injected by the agent (agent/render), so this package imports
// no ESC/POS code. A render failure does not fail the job: the .bin is
// kept, the failure is logged and shown in Status's Detail.
package file
