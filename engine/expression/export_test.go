package expression

import "crypto/subtle"

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

// ConstantTimeEqualsBefore is CONSTANTTIMEEQUALS as it was written before
// it had a Binary form, for a differential test.
func ConstantTimeEqualsBefore(args ...any) (any, error) {
	const name = "CONSTANTTIMEEQUALS"
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil || args[1] == nil {
		return false, nil
	}
	a, err := argText(name, args, 0)
	if err != nil {
		return nil, err
	}
	b, err := argText(name, args, 1)
	if err != nil {
		return nil, err
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1, nil
}
