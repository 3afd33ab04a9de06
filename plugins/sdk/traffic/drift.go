package traffic

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// Drift of captured inputs against a reference (the training data),
// measured as a population stability index (PSI): the inputs are put in
// bins (by length, or by language), and PSI = sum over bins of
// (a - e) * ln(a / e), with e and a the reference's and the inputs'
// shares of the bin (each at least 1e-4, so an empty bin counts but
// cannot make it infinite). Rules of thumb: below 0.1 no shift, 0.1 to
// 0.25 a moderate one, above 0.25 a major one.

// PSI is the population stability index of two histograms over the same
// bins (counts, in the same order).
func PSI(expected, actual []float64) float64 {
	var te, ta float64
	for i := range expected {
		te += expected[i]
		ta += actual[i]
	}
	if te == 0 || ta == 0 {
		return math.NaN()
	}
	const floor = 1e-4
	psi := 0.0
	for i := range expected {
		e, a := math.Max(expected[i]/te, floor), math.Max(actual[i]/ta, floor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// LengthPSI compares the lengths (in characters) of inputs with those of
// reference, in ten bins cut at the reference's deciles.
func LengthPSI(reference, inputs []string) float64 {
	if len(reference) == 0 || len(inputs) == 0 {
		return math.NaN()
	}
	ref := make([]float64, len(reference))
	for i, s := range reference {
		ref[i] = float64(len([]rune(s)))
	}
	sort.Float64s(ref)
	var edges []float64
	for q := 1; q < 10; q++ {
		e := ref[(len(ref)-1)*q/10]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	bin := func(x float64) int { return sort.SearchFloat64s(edges, x) }
	exp, act := make([]float64, len(edges)+1), make([]float64, len(edges)+1)
	for _, x := range ref {
		exp[bin(x)]++
	}
	for _, s := range inputs {
		act[bin(float64(len([]rune(s))))]++
	}
	return PSI(exp, act)
}

// LanguagePSI compares the languages (Language) of inputs with those of
// reference.
func LanguagePSI(reference, inputs []string) float64 {
	if len(reference) == 0 || len(inputs) == 0 {
		return math.NaN()
	}
	idx := map[string]int{}
	var exp, act []float64
	count := func(texts []string, into *[]float64) {
		for _, s := range texts {
			l := Language(s)
			i, ok := idx[l]
			if !ok {
				// A new bin in both histograms.
				i = len(idx)
				idx[l] = i
				exp, act = append(exp, 0), append(act, 0)
			}
			(*into)[i]++
		}
	}
	count(reference, &exp)
	count(inputs, &act)
	return PSI(exp, act)
}

// stopwords are frequent short words of the languages Language tells
// apart by words (scripts tell the others).
var stopwords = map[string][]string{
	"en": {"the", "and", "is", "to", "of", "you", "my", "it", "in", "for", "how", "what", "do", "i", "a", "can", "with", "this", "that", "please"},
	"fr": {"le", "la", "les", "et", "est", "de", "des", "un", "une", "je", "vous", "mon", "ma", "pour", "comment", "pas", "que", "qui", "avec", "du"},
	"de": {"der", "die", "das", "und", "ist", "ich", "nicht", "mit", "ein", "eine", "wie", "zu", "mein", "sie", "den", "auf", "für", "bitte", "kann", "es"},
	"es": {"el", "los", "las", "y", "es", "de", "que", "un", "una", "yo", "mi", "para", "cómo", "como", "por", "con", "no", "se", "del", "puedo"},
	"it": {"il", "lo", "gli", "e", "è", "di", "che", "un", "una", "io", "mio", "per", "come", "non", "con", "sono", "del", "della", "posso", "si"},
	"pt": {"o", "os", "as", "e", "é", "de", "que", "um", "uma", "eu", "meu", "para", "como", "não", "com", "do", "da", "posso", "se", "por"},
	"nl": {"de", "het", "een", "en", "is", "van", "ik", "niet", "met", "hoe", "mijn", "voor", "dat", "je", "op", "te", "kan", "zijn", "wat", "bij"},
}

var stopIndex = func() map[string][]string {
	out := map[string][]string{}
	for lang, ws := range stopwords {
		for _, w := range ws {
			out[w] = append(out[w], lang)
		}
	}
	return out
}()

// Language guesses the language of a text: by script for Cyrillic (ru),
// Greek (el), Arabic (ar), Hebrew (he), Devanagari (hi), Han (zh), kana
// (ja), Hangul (ko), Thai (th); by frequent words for en, fr, de, es, it,
// pt, nl; "und" when nothing tells. It is a coarse guess, meant for
// comparing the mix of languages of two sets of texts, not for labelling
// one text.
func Language(s string) string {
	scripts := map[string]int{}
	letters := 0
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		switch {
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			scripts["ja"] += 2
		case unicode.Is(unicode.Han, r):
			scripts["zh"]++
		case unicode.Is(unicode.Cyrillic, r):
			scripts["ru"]++
		case unicode.Is(unicode.Greek, r):
			scripts["el"]++
		case unicode.Is(unicode.Arabic, r):
			scripts["ar"]++
		case unicode.Is(unicode.Hebrew, r):
			scripts["he"]++
		case unicode.Is(unicode.Devanagari, r):
			scripts["hi"]++
		case unicode.Is(unicode.Hangul, r):
			scripts["ko"]++
		case unicode.Is(unicode.Thai, r):
			scripts["th"]++
		}
	}
	best, bestN := "", 0
	for k, n := range scripts {
		if n > bestN || n == bestN && k < best {
			best, bestN = k, n
		}
	}
	if letters > 0 && bestN*2 >= letters {
		return best
	}
	score := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		for _, l := range stopIndex[w] {
			score[l]++
		}
	}
	best, bestN = "und", 0
	for _, l := range []string{"en", "fr", "de", "es", "it", "pt", "nl"} {
		if score[l] > bestN {
			best, bestN = l, score[l]
		}
	}
	return best
}
