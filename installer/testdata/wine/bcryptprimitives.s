# A stand-in bcryptprimitives.dll for Wine test prefixes only (Wine 8.0 ships
# none, and the Go runtime loads ProcessPrng from it at start-up):
# ProcessPrng(buf, len) fills buf through advapi32!SystemFunction036
# (RtlGenRandom) and returns TRUE. Never installed on a real Windows.
	.intel_syntax noprefix
	.text
	.globl	DllMain
DllMain:
	mov	eax, 1
	ret

	.globl	ProcessPrng
ProcessPrng:
	sub	rsp, 40			# shadow space, 16-byte alignment
	call	[rip + __imp_SystemFunction036]	# rcx = buf, edx = len
	mov	eax, 1
	add	rsp, 40
	ret
