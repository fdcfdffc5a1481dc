package demo

// Picklists and their weights. The labels are the database's enum labels.

// States lists the Malaysian states and federal territories.
var States = []string{"JOHOR", "KEDAH", "KELANTAN", "MELAKA", "NEGERI_SEMBILAN", "PAHANG", "PERAK", "PERLIS",
	"PULAU_PINANG", "SABAH", "SARAWAK", "SELANGOR", "TERENGGANU", "KUALA_LUMPUR", "LABUAN", "PUTRAJAYA"}

var adultBands = []w[string]{
	{"AGE_18_20", 10}, {"AGE_21_23", 16}, {"AGE_24_26", 18}, {"AGE_27_29", 16},
	{"AGE_30_38", 25}, {"AGE_39_47", 11}, {"AGE_48_PLUS", 4},
}

var motherBands = []w[string]{
	{"AGE_18_20", 6}, {"AGE_21_23", 14}, {"AGE_24_26", 20}, {"AGE_27_29", 20}, {"AGE_30_38", 30}, {"AGE_39_47", 10},
}

// bandYears gives each age band's first and last year of age.
var bandYears = map[string][2]int{
	"AGE_0_8": {0, 8}, "AGE_9_17": {9, 17}, "AGE_18_20": {18, 20}, "AGE_21_23": {21, 23}, "AGE_24_26": {24, 26},
	"AGE_27_29": {27, 29}, "AGE_30_38": {30, 38}, "AGE_39_47": {39, 47}, "AGE_48_PLUS": {48, 62},
}

var citizenships = []w[string]{
	{"IDN", 27}, {"BGD", 20}, {"MMR", 18}, {"NPL", 9}, {"VNM", 8}, {"PHL", 7}, {"KHM", 6}, {"MYS", 5},
}

// language gives a citizenship's first language and the chance of speaking Malay or English besides.
var language = map[string]struct {
	first, second string
	p             float64
}{
	"IDN": {"id", "ms", 0.3}, "BGD": {"bn", "en", 0.15}, "MMR": {"my", "en", 0.05}, "NPL": {"ne", "en", 0.2},
	"VNM": {"vi", "en", 0.05}, "KHM": {"km", "en", 0.05}, "PHL": {"tl", "en", 0.85}, "MYS": {"ms", "en", 0.5},
}

// givenNames are common given names, combined with "Demo-<number> (fictional)" so no one could take a
// record for a real person.
var givenNames = map[string][2][]string{ // citizenship -> {female, male}
	"IDN": {{"Sari", "Wulan", "Ayu", "Indah", "Putri", "Ratna"}, {"Budi", "Agus", "Joko", "Rudi", "Eko", "Hendra"}},
	"BGD": {{"Rina", "Salma", "Nasrin", "Ruma", "Shirin", "Taslima"}, {"Rahim", "Karim", "Jamal", "Habib", "Sohel", "Rubel"}},
	"MMR": {{"Aye", "Thida", "Hnin", "Mya", "Khin", "Su"}, {"Aung", "Kyaw", "Zaw", "Min", "Htet", "Thura"}},
	"NPL": {{"Sita", "Gita", "Maya", "Sunita", "Anita", "Kamala"}, {"Ram", "Hari", "Bikash", "Suman", "Dipak", "Raju"}},
	"VNM": {{"Lan", "Mai", "Hoa", "Linh", "Thu", "Ngoc"}, {"Minh", "Tuan", "Nam", "Hung", "Duc", "Long"}},
	"PHL": {{"Maria", "Joy", "Grace", "Liza", "Rowena", "Cristina"}, {"Jose", "Mark", "Ramon", "Arnel", "Rodel", "Jun"}},
	"KHM": {{"Sophea", "Dara", "Channary", "Sreymom", "Bopha", "Kanha"}, {"Sok", "Vannak", "Rithy", "Sambath", "Visal", "Pisey"}},
	"MYS": {{"Aisyah", "Nurul", "Siti", "Farah", "Mei Ling", "Kavitha"}, {"Ahmad", "Hafiz", "Faiz", "Wei Jie", "Suresh", "Amir"}},
}

var neutralNames = []string{"Alex", "Sam", "Kai", "Nova", "Rin", "Sky"}

var femaleExploitation = []w[[]string]{
	{[]string{"FORCED_LABOUR"}, 48}, {[]string{"SEXUAL_EXPLOITATION"}, 27}, {[]string{"SEX_AND_LABOUR"}, 10},
	{[]string{"FORCED_MARRIAGE"}, 5}, {[]string{"FORCED_LABOUR", "OTHER"}, 4}, {[]string{"OTHER"}, 6},
}

var maleExploitation = []w[[]string]{
	{[]string{"FORCED_LABOUR"}, 86}, {[]string{"FORCED_LABOUR", "OTHER"}, 5}, {[]string{"SEX_AND_LABOUR"}, 3},
	{[]string{"SEXUAL_EXPLOITATION"}, 2}, {[]string{"OTHER"}, 4},
}

var femaleSectors = []w[string]{
	{"DOMESTIC_WORK", 38}, {"MANUFACTURING", 20}, {"HOSPITALITY", 20}, {"PLANTATION", 10}, {"AGRICULTURE", 6}, {"OTHER", 6},
}

var maleSectors = []w[string]{
	{"PLANTATION", 30}, {"CONSTRUCTION", 25}, {"MANUFACTURING", 15}, {"FISHING", 15}, {"AGRICULTURE", 8},
	{"HOSPITALITY", 3}, {"OTHER", 4},
}

// meansOfControl are the flags in their canonical order, each with the chance that a case shows it.
var meansOfControl = []struct {
	flag string
	p    float64
}{
	{"DEBT_BONDAGE", 0.45}, {"TAKES_EARNINGS", 0.4}, {"THREATS", 0.35}, {"PHYSICAL_ABUSE", 0.15},
	{"PSYCHOLOGICAL_ABUSE", 0.25}, {"SEXUAL_ABUSE", 0}, {"FALSE_PROMISES", 0.4}, {"RESTRICTS_MOVEMENT", 0.35},
	{"WITHHOLDS_DOCUMENTS", 0.6}, {"EXCESSIVE_HOURS", 0.3}, {"OTHER", 0.03},
}

// rescueStates weights where cases come to light, and the magistrates' courts that make their orders.
var rescueStates = []w[string]{
	{"JOHOR", 16}, {"SELANGOR", 16}, {"KUALA_LUMPUR", 12}, {"PULAU_PINANG", 9}, {"SABAH", 10}, {"SARAWAK", 9},
	{"PERAK", 6}, {"PAHANG", 5}, {"KEDAH", 4}, {"NEGERI_SEMBILAN", 4}, {"MELAKA", 3}, {"KELANTAN", 3},
	{"TERENGGANU", 2}, {"PERLIS", 1},
}

type court struct{ name, code string }

var courts = map[string][]court{
	"JOHOR":           {{"Mahkamah Majistret Johor Bahru", "JB"}, {"Mahkamah Majistret Muar", "MUR"}},
	"SELANGOR":        {{"Mahkamah Majistret Shah Alam", "SA"}, {"Mahkamah Majistret Klang", "KLG"}},
	"KUALA_LUMPUR":    {{"Mahkamah Majistret Kuala Lumpur", "KL"}},
	"PULAU_PINANG":    {{"Mahkamah Majistret George Town", "GT"}, {"Mahkamah Majistret Butterworth", "BW"}},
	"SABAH":           {{"Mahkamah Majistret Kota Kinabalu", "KK"}, {"Mahkamah Majistret Tawau", "TWU"}, {"Mahkamah Majistret Sandakan", "SDK"}},
	"SARAWAK":         {{"Mahkamah Majistret Kuching", "KCH"}, {"Mahkamah Majistret Miri", "MYY"}, {"Mahkamah Majistret Bintulu", "BTU"}},
	"PERAK":           {{"Mahkamah Majistret Ipoh", "IPH"}},
	"PAHANG":          {{"Mahkamah Majistret Kuantan", "KTN"}},
	"KEDAH":           {{"Mahkamah Majistret Alor Setar", "AOR"}},
	"NEGERI_SEMBILAN": {{"Mahkamah Majistret Seremban", "SBN"}},
	"MELAKA":          {{"Mahkamah Majistret Melaka", "MLK"}},
	"KELANTAN":        {{"Mahkamah Majistret Kota Bharu", "KB"}},
	"TERENGGANU":      {{"Mahkamah Majistret Kuala Terengganu", "KT"}},
	"PERLIS":          {{"Mahkamah Majistret Kangar", "KGR"}},
}

var medicalNeeds = []string{
	"(fictional) Dehydration and a skin infection on arrival; treated, follow-up in two weeks.",
	"(fictional) Untreated hand injury from the workplace; physiotherapy booked.",
	"(fictional) Dental pain; referred for extraction.",
	"(fictional) Malaria screening negative; monitoring for fever.",
	"(fictional) Chronic back pain from lifting; pain relief prescribed.",
	"(fictional) Needs reading glasses; eye test arranged.",
	"(fictional) Tuberculosis screening pending chest X-ray.",
}

// antenatal is the medical need of some adult women.
const antenatal = "(fictional) Antenatal check-up due; no complications noted."

var counsellingNotes = []string{
	"(fictional) Sleeps poorly; weekly sessions agreed.",
	"(fictional) Worried about debt owed at home; wants to speak to family first.",
	"(fictional) Calm and engaged; prefers a female counsellor.",
	"(fictional) Startles at loud noises; grounding exercises introduced.",
	"(fictional) Asks often about going home; repatriation options explained.",
	"(fictional) Withdrawn in group sessions; one-to-one sessions instead.",
}
