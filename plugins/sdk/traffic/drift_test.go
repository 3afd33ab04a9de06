package traffic

import (
	"math"
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"How do I reset my API key? Please help with the console.", "en"},
		{"Comment est-ce que je peux réinitialiser ma clé pour le compte ?", "fr"},
		{"Wie kann ich meinen Schlüssel zurücksetzen? Bitte hilf mir mit der Konsole.", "de"},
		{"¿Cómo puedo restablecer mi clave para la cuenta?", "es"},
		{"Как сбросить мой ключ?", "ru"},
		{"如何重置我的密钥", "zh"},
		{"鍵をリセットするにはどうすればいいですか", "ja"},
		{"kj-9664 42", "und"},
	} {
		if got := Language(tc.in); got != tc.want {
			t.Errorf("Language(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPSI(t *testing.T) {
	en := []string{}
	for i := 0; i < 200; i++ {
		en = append(en, strings.Repeat("how do I reset the key ", 1+i%7))
	}
	fr := []string{}
	for i := 0; i < 100; i++ {
		fr = append(fr, strings.Repeat("comment je peux réinitialiser la clé ", 1+i%7))
	}
	if p := LanguagePSI(en, en[:50]); p > 0.01 {
		t.Errorf("same language: PSI %v", p)
	}
	if p := LanguagePSI(en, fr); p < 1 {
		t.Errorf("english vs french: PSI %v, want > 1", p)
	}
	if p := LengthPSI(en, en[7:77]); p > 0.1 {
		t.Errorf("same lengths: PSI %v", p)
	}
	short := []string{"hi", "hey", "yo", "ok"}
	if p := LengthPSI(en, short); p < 0.25 {
		t.Errorf("much shorter inputs: PSI %v, want > 0.25", p)
	}
	if !math.IsNaN(LengthPSI(nil, en)) || !math.IsNaN(PSI([]float64{0}, []float64{0})) {
		t.Error("no data must be NaN")
	}
}
