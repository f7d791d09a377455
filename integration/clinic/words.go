package clinic

// Word lists the generator draws from. Changing any of them changes the
// data set for every seed; tests compare loads with each other, never with
// stored hashes, so that is allowed, but keep them free of real people.

var femaleNames = []string{
	"Abigail", "Ada", "Alice", "Amara", "Ana", "Beatriz", "Camila", "Chloe", "Dana", "Elena",
	"Emma", "Fatima", "Grace", "Hana", "Imani", "Isabel", "Jade", "Julia", "Keiko", "Laura",
	"Leah", "Lucia", "Maya", "Mei", "Nadia", "Nora", "Olivia", "Priya", "Rosa", "Sara",
	"Sofia", "Tamara", "Una", "Valeria", "Wen", "Yara", "Zoe",
}

var maleNames = []string{
	"Aaron", "Adrian", "Ahmed", "Andre", "Ben", "Carlos", "Chen", "Daniel", "David", "Diego",
	"Elijah", "Ethan", "Felix", "Gabriel", "Hiro", "Ian", "Ivan", "James", "Jamal", "Jorge",
	"Kai", "Liam", "Luca", "Marcus", "Mateo", "Noah", "Omar", "Owen", "Pedro", "Raj",
	"Samuel", "Tariq", "Theo", "Victor", "Wei", "Yusuf", "Zane",
}

var lastNames = []string{
	"Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Baker", "Bennett", "Brooks", "Campbell", "Carter",
	"Castillo", "Chen", "Clark", "Collins", "Cooper", "Cruz", "Davis", "Diaz", "Edwards", "Evans",
	"Fischer", "Flores", "Foster", "Garcia", "Gomez", "Gonzalez", "Gray", "Green", "Hall", "Harris",
	"Hernandez", "Hill", "Hughes", "Ito", "Jackson", "James", "Jensen", "Johnson", "Kapoor", "Kim",
	"King", "Kowalski", "Lee", "Lewis", "Lopez", "Martin", "Martinez", "Mendoza", "Miller", "Mitchell",
	"Moore", "Morales", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Ortiz", "Patel", "Perez",
	"Peterson", "Phillips", "Price", "Ramirez", "Reed", "Reyes", "Rivera", "Roberts", "Robinson", "Rossi",
	"Sanchez", "Schmidt", "Scott", "Shah", "Silva", "Singh", "Smith", "Stewart", "Sullivan", "Tanaka",
	"Taylor", "Thomas", "Thompson", "Torres", "Turner", "Walker", "Ward", "Watson", "White", "Williams",
	"Wilson", "Wong", "Wright", "Young", "Zhang",
}

var streetNames = []string{
	"Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
	"Church", "Mill", "River", "Spring", "Sunset", "Highland", "Forest", "Meadow", "Willow", "Chestnut",
}

var streetSuffixes = []string{"St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter"}

// place is a city with its state and the first three digits of its ZIP
// codes. None of these ZIP3s is on the Safe Harbor restricted list; the
// boundary patients cover that list.
type place struct {
	city, state, zip3 string
}

var places = []place{
	{"Boston", "MA", "021"}, {"Worcester", "MA", "016"}, {"Providence", "RI", "029"},
	{"Hartford", "CT", "061"}, {"New York", "NY", "100"}, {"Brooklyn", "NY", "112"},
	{"Buffalo", "NY", "142"}, {"Philadelphia", "PA", "191"}, {"Pittsburgh", "PA", "152"},
	{"Baltimore", "MD", "212"}, {"Richmond", "VA", "232"}, {"Charlotte", "NC", "282"},
	{"Atlanta", "GA", "303"}, {"Miami", "FL", "331"}, {"Tampa", "FL", "336"},
	{"Nashville", "TN", "372"}, {"Columbus", "OH", "432"}, {"Cleveland", "OH", "441"},
	{"Detroit", "MI", "482"}, {"Indianapolis", "IN", "462"}, {"Chicago", "IL", "606"},
	{"Milwaukee", "WI", "532"}, {"Minneapolis", "MN", "554"}, {"St. Louis", "MO", "631"},
	{"Kansas City", "MO", "641"}, {"Omaha", "NE", "681"}, {"New Orleans", "LA", "701"},
	{"Dallas", "TX", "752"}, {"Houston", "TX", "770"}, {"Austin", "TX", "787"},
	{"Denver", "CO", "802"}, {"Phoenix", "AZ", "850"}, {"Albuquerque", "NM", "871"},
	{"Salt Lake City", "UT", "841"}, {"Las Vegas", "NV", "891"}, {"Los Angeles", "CA", "900"},
	{"San Diego", "CA", "921"}, {"San Francisco", "CA", "941"}, {"Portland", "OR", "972"},
	{"Seattle", "WA", "981"},
}

var emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "patients.example.org"}

var providers = []string{
	"Dr. A. Okonkwo", "Dr. B. Lindqvist", "Dr. C. Ramanathan", "Dr. D. Haddad", "Dr. E. Moreau",
	"Dr. F. Takahashi", "Dr. G. Oyelaran", "Dr. H. Brennan", "Dr. I. Vasquez", "Dr. J. Kowalczyk",
	"Dr. K. Abernathy", "Dr. L. Sørensen", "NP M. Delacroix", "NP N. Whitfield", "PA O. Achebe",
}

// diagnosis is an ICD-10-CM code with the words notes use for it.
type diagnosis struct {
	code, text string
}

var diagnoses = []diagnosis{
	{"E11.9", "type 2 diabetes mellitus"}, {"I10", "essential hypertension"},
	{"E78.5", "hyperlipidemia"}, {"J45.909", "asthma"}, {"J44.9", "COPD"},
	{"F32.9", "major depressive disorder"}, {"F41.1", "generalized anxiety disorder"},
	{"F43.10", "post-traumatic stress disorder"}, {"F10.20", "alcohol use disorder"},
	{"M54.50", "low back pain"}, {"M17.11", "osteoarthritis of the right knee"},
	{"K21.9", "gastro-esophageal reflux"}, {"N39.0", "urinary tract infection"},
	{"J06.9", "upper respiratory infection"}, {"J18.9", "pneumonia"},
	{"I25.10", "coronary artery disease"}, {"I48.91", "atrial fibrillation"},
	{"I50.9", "heart failure"}, {"N18.3", "chronic kidney disease stage 3"},
	{"E66.9", "obesity"}, {"E03.9", "hypothyroidism"}, {"G43.909", "migraine"},
	{"G40.909", "epilepsy"}, {"R07.9", "chest pain"}, {"R51.9", "headache"},
	{"S52.501A", "fracture of the radius"}, {"S93.401A", "ankle sprain"},
	{"C50.911", "breast cancer"}, {"C61", "prostate cancer"}, {"B20", "HIV disease"},
	{"O80", "uncomplicated delivery"}, {"Z00.00", "routine examination"},
	{"Z23", "immunization"}, {"F17.210", "nicotine dependence"}, {"U07.1", "COVID-19"},
}

// noteTypes are drawn with the given weights (out of 100).
var noteTypes = []struct {
	name   string
	weight int
}{
	{"progress", 40}, {"discharge", 15}, {"radiology", 15}, {"psychotherapy", 10},
	{"nursing", 10}, {"telephone", 5}, {"consult", 5},
}
