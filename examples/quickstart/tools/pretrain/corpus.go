package main

import (
	"fmt"
	"strings"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

// The generic English corpus: short paragraphs of everyday narrative,
// description, dialogue and plain facts, produced by a small grammar from the
// word lists below plus a set of hand-written sentences. Nothing in it is
// about computers, GPUs or customer support, so the base model knows English
// spelling and phrasing but not the Kestrel domain.

func words(s string) []string { return strings.Split(s, "|") }

var (
	names    = words("Anna|Ben|Clara|David|Emma|Frank|Grace|Henry|Iris|Jack|Kate|Leo|Mary|Nick|Olivia|Paul|Rose|Sam|Tom|Vera|William|Lucy|Peter|Alice|George|Helen|Martin|Susan")
	persons  = words("the old man|a young woman|the teacher|my father|her mother|the farmer|the children|the doctor|our neighbour|the baker|the captain|a little girl|his brother|the king|the queen|the students|my grandmother|the fisherman|a stranger|the young soldier|the painter|her sister|the shopkeeper|the boys")
	places   = words("the village|the market|the river|the garden|the old house|the forest|the station|the school|the church|the harbour|the city|the hill|the kitchen|the library|the bridge|the valley|the beach|the farm|the square|the castle|the meadow|the mountains|the lake|the little shop")
	objects  = words("a basket of apples|the letter|an old book|the red door|a cup of tea|the small boat|his hat|the window|a loaf of bread|the key|the lamp|a bunch of flowers|the newspaper|the piano|a wooden box|the blue coat|a long rope|the map|her umbrella|a jar of honey|the photograph|a pair of shoes|the garden gate|a bag of flour")
	tverbs   = words("found|carried|opened|painted|bought|sold|read|wrote|saw|remembered|lost|brought|cleaned|fixed|watched|left|took|gave away|hid|mended|wanted|forgot|showed us|dropped")
	iverbs   = words("walked home|laughed|waited|slept|sang|listened|smiled|returned|stayed inside|worked all day|ran down the road|sat by the fire|looked out of the window|went to bed early|danced|wept|whistled a tune|stood still")
	advs     = words("slowly|quietly|happily|early|late|carefully|again|together|suddenly|at once|without a word|for a long time|in silence|with great care")
	times    = words("in the morning|after dinner|on Sunday|last summer|before the rain|at noon|every evening|in the spring of 1892|at half past seven|one cold winter|the next day|on the first of May|late at night|in October|at dawn|after the war|on a bright afternoon|two years ago")
	adjs     = words("old|young|quiet|bright|cold|warm|tall|small|green|happy|tired|kind|strange|beautiful|dark|busy|empty|gentle|proud|wet|golden|narrow|heavy|wide")
	weather  = words("The sky was grey and the wind was cold.|It rained all night, and the roads were full of water.|The sun was warm and the fields were golden.|A thick fog lay over the valley until noon.|Snow fell softly on the roofs of the town.|The air was still and the birds were singing.|A storm came from the sea and the waves grew high.|It was a clear night, and the stars were bright.")
	feelings = words("glad|afraid|surprised|sorry|curious|angry|proud|lonely|hungry|worried|sure|delighted")
	animals  = words("a dog|the horse|an old cat|two geese|a fox|the cows|a small bird|the sheep|a donkey|the hens")
	foods    = words("bread and cheese|soup|fresh fish|apple pie|potatoes|eggs and bacon|plum cake|warm milk|roast chicken|cherries")
	says     = words("said|asked|replied|cried|answered|whispered|called")
	lines    = words("Where are you going?|I will be back before dark.|Have you seen my brother?|It is too late to go now.|Come and sit by the fire.|What a lovely morning!|I do not know the way.|Shall we walk to the river?|Please close the door.|Nobody told me about it.|We must leave at once.|That is a very old story.|Will you help me carry this?|I have never been so happy.|Do not be afraid.|How much is the bread?")
	facts    = words("Water freezes at zero degrees and boils at one hundred.|The sun rises in the east and sets in the west.|A week has seven days, and a year has twelve months.|Bees make honey from the flowers of the field.|The moon goes round the earth about once a month.|Most trees lose their leaves in the autumn.|Wool comes from sheep, and milk comes from cows.|A good map shows rivers, roads, hills and towns.|Bread is made from flour, water, salt and yeast.|The river flows down from the hills to the sea.|There are sixty minutes in an hour.|Some birds fly south for the winter.")
	proverbs = words("A stitch in time saves nine.|Many hands make light work.|Still waters run deep.|Every cloud has a silver lining.|Better late than never.|Actions speak louder than words.|The early bird catches the worm.|Do not count your chickens before they hatch.|Where there is a will, there is a way.|All that glitters is not gold.")
	conjs    = words("and then|but|so|because|while|although|after|before")
	titles   = words("Mr.|Mrs.|Dr.|Miss|Professor|Captain|Aunt|Uncle")
	surnames = words("Brown|Smith|Taylor|Wilson|Clarke|Hughes|Walker|Green|Hall|Wood|Baker|Turner|Morgan|Price")
	towns    = words("Oxford|York|Bath|Dover|Chester|Leeds|Bristol|Norwich|Exeter|Kendal|Whitby|Truro")
	months   = words("January|February|March|April|May|June|July|August|September|October|November|December")
	days     = words("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday")
	nouns    = words("question|answer|journey|promise|secret|lesson|reason|picture|story|voice|dream|mistake|plan|song|river|mountain|island|kingdom|family|friend|stranger|window|letter|garden|evening|morning|winter|summer|harvest|market|ship|road|bridge|tower|forest|candle|mirror|clock|table|chair|blanket|basket|bottle|pencil|ribbon|coin|ring|feather|stone|shadow|silence|music|weather|holiday|meeting|visit|price|number|minute|hour|month|century")
	verbs2   = words("remember|believe|understand|explain|imagine|discover|describe|follow|borrow|return|prepare|consider|notice|promise|suggest|arrive|decide|wonder|travel|whisper|measure|gather|deliver|repair|choose|answer|protect|finish|continue|improve")
	adverbs2 = words("probably|certainly|perhaps|always|never|often|sometimes|usually|nearly|quite|rather|almost|simply|really|still|already|soon|later|today|yesterday")
	dishes   = words("the soup|the sauce|the dough|the rice|the beans|the onions|the butter and sugar|the apples")
	steps    = words("stir|boil|bake|chop|mix|slice|wash|cool|warm|season")
)

func (g gen) misc() string {
	switch g.r.Intn(10) {
	case 0:
		return fmt.Sprintf("Dear %s %s, thank you for your letter of %d %s. I will arrive in %s on %s at %d:%02d. Yours sincerely, %s %s.",
			g.p(titles), g.p(surnames), 1+g.r.Intn(28), g.p(months), g.p(towns), g.p(days), 6+g.r.Intn(14), 5*g.r.Intn(12), g.p(names), g.p(surnames))
	case 1:
		return fmt.Sprintf("The %d:%02d train to %s leaves from platform %d; it stops at %s and %s (about %d minutes).",
			5+g.r.Intn(18), 5*g.r.Intn(12), g.p(towns), 1+g.r.Intn(9), g.p(towns), g.p(towns), 20+g.r.Intn(150))
	case 2:
		return fmt.Sprintf("Step %d: %s %s for %d minutes, then %s it and let it rest.", 1+g.r.Intn(8), g.p(steps), g.p(dishes), 2+g.r.Intn(40), g.p(steps))
	case 3:
		return fmt.Sprintf("Weather for %s: %d degrees, %s, with a %d%% chance of rain.", g.p(days), g.r.Intn(30), g.p(words("sunny|cloudy|windy|foggy|mild|cold")), 10*g.r.Intn(10))
	case 4:
		return fmt.Sprintf("%s %s, aged %d, lives at %d %s Street, %s.", g.p(names), g.p(surnames), 18+g.r.Intn(70), 1+g.r.Intn(120), g.p(surnames), g.p(towns))
	case 5:
		return capFirst(fmt.Sprintf("%s I %s the %s, but I %s %s the %s.", g.p(adverbs2), g.p(verbs2), g.p(nouns), g.p(adverbs2), g.p(verbs2), g.p(nouns)))
	case 6:
		return fmt.Sprintf("Why did the %s %s the %s? Nobody knew, and the %s did not %s.", g.p(nouns), g.p(verbs2), g.p(nouns), g.p(nouns), g.p(verbs2))
	case 7:
		return fmt.Sprintf("In %d, the %s of %s was %s - the %s was %s and the %s was %s.",
			1700+g.r.Intn(300), g.p(nouns), g.p(towns), g.p(adjs), g.p(nouns), g.p(adjs), g.p(nouns), g.p(adjs))
	case 8:
		return fmt.Sprintf("%s's %s (the %s one) was %s; she'd %s it %s.", g.p(names), g.p(nouns), g.p(adjs), g.p(adjs), g.p(verbs2), g.p(adverbs2))
	default:
		return fmt.Sprintf("Open %s to %s, %d am to %d pm. Tickets: %d pence for adults, %d for children.",
			g.p(days), g.p(days), 8+g.r.Intn(3), 4+g.r.Intn(4), 20+g.r.Intn(80), 5+g.r.Intn(15))
	}
}

type gen struct{ r *tinylm.RNG }

func (g gen) p(xs []string) string { return xs[g.r.Intn(len(xs))] }

func capFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func (g gen) subject() string {
	if g.r.Intn(3) == 0 {
		return g.p(names)
	}
	return g.p(persons)
}

func (g gen) clause() string {
	switch g.r.Intn(7) {
	case 0:
		return fmt.Sprintf("%s %s %s", g.subject(), g.p(tverbs), g.p(objects))
	case 1:
		return fmt.Sprintf("%s %s %s", g.subject(), g.p(iverbs), g.p(advs))
	case 2:
		return fmt.Sprintf("%s %s %s in %s", g.subject(), g.p(tverbs), g.p(objects), g.p(places))
	case 3:
		return fmt.Sprintf("%s went to %s %s", g.subject(), g.p(places), g.p(times))
	case 4:
		return fmt.Sprintf("%s was %s and %s", g.subject(), g.p(adjs), g.p(feelings))
	case 5:
		return fmt.Sprintf("%s saw %s near %s", g.subject(), g.p(animals), g.p(places))
	default:
		return fmt.Sprintf("%s had %s for supper", g.subject(), g.p(foods))
	}
}

func (g gen) sentence() string {
	switch g.r.Intn(18) {
	case 12, 13, 14, 15, 16:
		return g.misc()
	case 0:
		return g.p(weather)
	case 1:
		l := g.p(lines)
		if strings.HasSuffix(l, ".") {
			l = strings.TrimSuffix(l, ".") + ","
		}
		return fmt.Sprintf("\"%s\" %s %s.", l, g.p(says), g.p(names))
	case 2:
		return fmt.Sprintf("\"%s\" %s %s, \"%s\"", g.p(lines[:8]), g.p(says), g.p(names), g.p(lines[8:]))
	case 3:
		return g.p(facts)
	case 4:
		return fmt.Sprintf("As %s used to say, \"%s\"", g.p(persons), g.p(proverbs))
	case 5:
		return capFirst(fmt.Sprintf("%s, %s.", g.p(times), g.clause()))
	case 6:
		return fmt.Sprintf("The %s house stood at the end of a %s road, and %s lived there with %s.",
			g.p(adjs), g.p(adjs), g.p(names), g.p(animals))
	case 7:
		n := 2 + g.r.Intn(20)
		return fmt.Sprintf("%s bought %d eggs, %d apples and %s for %d pence.",
			g.p(names), n, 1+g.r.Intn(12), g.p(foods), 5+g.r.Intn(95))
	case 8:
		return capFirst(fmt.Sprintf("%s %s %s.", g.clause(), g.p(conjs), g.clause()))
	case 9:
		return capFirst(fmt.Sprintf("%s, who was %s and %s, %s.", g.subject(), g.p(adjs), g.p(feelings), g.p(iverbs)))
	default:
		return capFirst(g.clause() + ".")
	}
}

// Corpus returns n generic English paragraphs for the given seed.
func Corpus(seed uint64, n int) []string {
	g := gen{tinylm.NewRNG(seed)}
	out := make([]string, n)
	for i := range out {
		k := 2 + g.r.Intn(4)
		s := make([]string, k)
		for j := range s {
			s[j] = g.sentence()
		}
		out[i] = strings.Join(s, " ")
	}
	return out
}
