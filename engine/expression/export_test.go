package expression

// SetVMOnly makes Compile leave every expression to expr's virtual machine,
// so tests can check that both forms give the same results. It returns a
// function restoring the previous setting.
func SetVMOnly(on bool) func() {
	prev := vmOnly
	vmOnly = on
	return func() { vmOnly = prev }
}

// HasFastPath reports whether an expression runs without the VM.
func (e *Expr) HasFastPath() bool { return e.fast != nil || e.path != nil }

// SetGeneralArith makes Compile build arithmetic as general closures, which
// box every intermediate value, instead of numeric ones, so tests can
// compare them. It returns a function restoring the previous setting.
func SetGeneralArith(on bool) func() {
	prev := generalArith
	generalArith = on
	return func() { generalArith = prev }
}

// RandomID is RANDOMID's encoding of b under prefix.
func RandomID(prefix string, b *[17]byte) string { return randomID(prefix, b) }

// IDEncoding is RANDOMID's alphabet.
var IDEncoding = idEncoding

// PathWalk evaluates a plain path expression by its general form (get at
// every step), and reports whether e is one and takes the keys-only form.
func (e *Expr) PathWalk(env *Env) (out any, err error, keysOnly bool) {
	if e.path == nil {
		return nil, nil, false
	}
	out, err = e.path.walk(e.path.start(env))
	return out, err, e.path.keys != nil
}
