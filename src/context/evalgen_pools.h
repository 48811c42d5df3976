/* Vocabulary and sentence templates of the evaluation generator (evalgen.c).
 * Templates: {k} is a slot (s speaker, o listener, v value, x / y details of
 * the fact, old the value it replaces, n a random first name, p the pet of
 * the speaker); [a|b|c] picks one alternative, [a|] makes a optional. */
#ifndef HX_CTX_EVALGEN_POOLS_H
#define HX_CTX_EVALGEN_POOLS_H

#define NP(a) (sizeof(a) / sizeof((a)[0]))

static const char *const first_names[] = {
    "Caroline", "Melanie", "Jolene", "Deborah", "Nate", "Joanna", "Tim", "John", "Maria", "Gina", "Jon", "Audrey",
    "Andrew", "Evan", "Sam", "Calvin", "Dave", "Priya", "Kenji", "Elena", "Omar", "Fatima", "Lucas", "Sofia",
    "Mateo", "Aisha", "Hiroshi", "Ingrid", "Tobias", "Leila", "Marcus", "Nadia", "Rafael", "Yuki", "Zoe", "Bruno",
    "Chloe", "Dmitri", "Esme", "Felix", "Greta", "Hamza", "Iris", "Jasper", "Kira", "Liam", "Mina", "Nico", "Olga",
    "Pavel", "Quinn", "Rosa", "Stefan", "Tara", "Umar", "Vera", "Wes", "Ximena", "Yara", "Zane", "Anika", "Bea",
    "Cyrus", "Dalia", "Emil", "Farah", "Gus", "Hana", "Ivo", "Jana", "Kofi", "Lena", "Milo", "Noor", "Otto", "Pia",
    "Ravi", "Selma", "Theo", "Uma", "Viktor", "Wanda", "Yusuf", "Zara", "Arjun", "Bianca", "Colin", "Daphne",
    "Eli", "Freya", "Gideon", "Hazel", "Isaac", "Juno", "Kai", "Lorenzo", "Maeve", "Nolan", "Opal", "Pedro",
    "Ruth", "Silas", "Tessa", "Vince", "Willa", "Xavier", "Yvonne", "Amara", "Boris", "Cora", "Desmond", "Elif",
};
static const char *const last_names[] = {
    "Okafor", "Lindqvist", "Moreau", "Castillo", "Nakamura", "Brennan", "Kowalski", "Haddad", "Fischer", "Patel",
    "Romero", "Sato", "Novak", "Adeyemi", "Larsen", "Duarte", "Whitfield", "Kaur", "Berger", "Rossi", "Ivanova",
    "Mensah", "Dubois", "Torres", "Yilmaz", "Schmidt", "Oduya", "Park", "Quintero", "Abbott", "Ferreira", "Holm",
    "Chandra", "Vargas", "Lambert", "Mwangi", "Ortega", "Sorensen", "Takahashi", "Greene",
};
static const char *const cities[] = {
    "Lisbon", "Porto", "Kyoto", "Osaka", "Reykjavik", "Marrakesh", "Vancouver", "Montreal", "Buenos Aires",
    "Cape Town", "Edinburgh", "Dublin", "Prague", "Vienna", "Budapest", "Krakow", "Seville", "Valencia", "Naples",
    "Florence", "Athens", "Istanbul", "Tbilisi", "Hanoi", "Chiang Mai", "Bali", "Melbourne", "Auckland", "Denver",
    "Austin", "Nashville", "New Orleans", "Savannah", "Portland", "Boston", "Chicago", "San Diego", "Santa Fe",
    "Mexico City", "Oaxaca", "Cartagena", "Lima", "Cusco", "Havana", "Copenhagen", "Stockholm", "Oslo", "Helsinki",
    "Tallinn", "Bruges", "Amsterdam", "Hamburg", "Munich", "Zurich", "Lyon", "Bordeaux", "Nice", "Dubrovnik",
    "Ljubljana", "Sarajevo", "Seoul", "Busan", "Taipei", "Singapore", "Penang", "Mumbai", "Goa", "Jaipur",
    "Kathmandu", "Nairobi", "Zanzibar", "Accra", "Dakar", "Tunis", "Cairo", "Amman", "Banff", "Quebec City",
    "Anchorage", "Honolulu",
};
static const char *const companies[] = {
    "Northwind Labs", "Brightline Health", "Keel & Co", "Harbor Analytics", "Bluebird Logistics", "Fernhill School",
    "Maple Street Bakery", "Orbit Games", "Tidewater Bank", "Sunpath Solar", "Greenleaf Architects", "Copperfield Law",
    "Pinecrest Hospital", "Lumen Studios", "Redwood Insurance", "Atlas Robotics", "Cobalt Media", "Juniper Foods",
    "Silverline Airlines", "Quarry Books", "Nimbus Software", "Riverside Clinic", "Starling Design", "Westbrook Library",
    "Helios Energy", "Marigold Florists", "Ironbridge Construction", "Alder Vet Clinic", "Kestrel Outdoor",
    "Saffron Kitchen Group",
};
static const char *const job_titles[] = {
    "data analyst", "nurse", "graphic designer", "project manager", "teacher", "software engineer", "pastry chef",
    "paralegal", "sales lead", "physical therapist", "copywriter", "lab technician", "UX researcher", "accountant",
    "social worker", "product designer", "marketing coordinator", "veterinary assistant", "line cook", "librarian",
};
static const char *const books[][2] = {
    {"The Night Circus", "Erin Morgenstern"}, {"Project Hail Mary", "Andy Weir"}, {"Circe", "Madeline Miller"},
    {"Piranesi", "Susanna Clarke"}, {"Educated", "Tara Westover"}, {"The Overstory", "Richard Powers"},
    {"Klara and the Sun", "Kazuo Ishiguro"}, {"Station Eleven", "Emily St. John Mandel"},
    {"The Remains of the Day", "Kazuo Ishiguro"}, {"Braiding Sweetgrass", "Robin Wall Kimmerer"},
    {"A Gentleman in Moscow", "Amor Towles"}, {"The Goldfinch", "Donna Tartt"}, {"Pachinko", "Min Jin Lee"},
    {"Anxious People", "Fredrik Backman"}, {"The Midnight Library", "Matt Haig"}, {"Becoming", "Michelle Obama"},
    {"Dune", "Frank Herbert"}, {"Beloved", "Toni Morrison"}, {"Normal People", "Sally Rooney"},
    {"The Hobbit", "J. R. R. Tolkien"}, {"Where the Crawdads Sing", "Delia Owens"}, {"Sapiens", "Yuval Noah Harari"},
    {"The Song of Achilles", "Madeline Miller"}, {"Homegoing", "Yaa Gyasi"}, {"The Road", "Cormac McCarthy"},
    {"Little Fires Everywhere", "Celeste Ng"}, {"Hamnet", "Maggie O'Farrell"}, {"The Vanishing Half", "Brit Bennett"},
};
static const char *const films[] = {
    "Everything Everywhere All at Once", "Spirited Away", "The Grand Budapest Hotel", "Arrival", "Paddington 2",
    "Inside Out", "Parasite", "Little Women", "Knives Out", "Mad Max: Fury Road", "Moonlight", "Coco", "Amelie",
    "Interstellar", "The Princess Bride", "Jurassic Park", "Lady Bird", "Whiplash", "Up", "The Farewell",
    "Past Lives", "Top Gun: Maverick", "Oppenheimer", "Barbie", "Dune: Part Two", "La La Land", "Ratatouille",
    "Hidden Figures", "Soul", "Encanto",
};
static const char *const bands[] = {
    "Fleetwood Mac", "Arctic Monkeys", "Bon Iver", "Florence and the Machine", "The National", "Lizzo",
    "Vampire Weekend", "Hozier", "Tame Impala", "Phoebe Bridgers", "Coldplay", "Radiohead", "Mitski", "Khruangbin",
    "The Lumineers", "Billie Eilish", "Fleet Foxes", "Haim", "Caamp", "Maggie Rogers", "Glass Animals",
    "Mumford and Sons", "Sufjan Stevens", "Big Thief", "Kacey Musgraves", "Leon Bridges",
};
static const char *const pet_names[] = {
    "Biscuit", "Mochi", "Pepper", "Luna", "Waffles", "Juniper", "Clementine", "Oscar", "Pickles", "Hazelnut",
    "Ziggy", "Bean", "Noodle", "Maple", "Sprout", "Dumpling", "Rosie", "Gizmo", "Tofu", "Olive", "Pumpkin",
    "Cricket", "Nacho", "Sage", "Bandit", "Marble", "Pretzel", "Churro", "Tater", "Fig",
};
static const char *const animals[] = {"dog", "cat", "puppy", "kitten", "rabbit", "parrot", "hamster", "turtle",
                                      "beagle", "tabby cat", "corgi", "guinea pig"};
static const char *const restaurants[] = {
    "Luna Verde", "The Copper Pot", "Saffron House", "Little Lisboa", "Kato Ramen", "Blue Door Bistro", "El Farolito",
    "Golden Lotus", "Nonna Rita's", "The Salt Cellar", "Casa Bonita", "Pho Saigon", "Olive and Vine", "Masala Junction",
    "Smoke Signals BBQ", "The Green Fork", "Taverna Mykonos", "Sakura Garden", "Mama Ngozi's", "The Dumpling Den",
};
static const char *const cuisines[] = {"Thai", "Ethiopian", "Peruvian", "Korean", "Lebanese", "Vietnamese",
                                       "Georgian", "Sichuan", "Portuguese", "Mexican", "Greek", "Nepali"};
static const char *const classes[] = {
    "pottery", "salsa", "woodworking", "watercolor", "rock climbing", "Spanish", "improv", "ceramics", "jiu-jitsu",
    "sourdough baking", "photography", "figure drawing", "stand-up paddleboarding", "aerial yoga", "beekeeping",
    "calligraphy", "guitar", "swing dancing", "knitting", "archery",
};
static const char *const colors[] = {"teal", "mustard yellow", "navy blue", "burgundy", "forest green", "coral",
                                     "lavender", "charcoal grey", "sage green", "terracotta", "turquoise", "maroon"};
static const char *const objects[] = {"bike", "couch", "backpack", "rain jacket", "kayak", "stand mixer", "tent",
                                      "armchair", "guitar", "desk", "suitcase", "coffee table"};
static const char *const cars[] = {"Subaru Outback", "Honda Civic", "Toyota RAV4", "Kia Niro", "Mazda CX-5",
                                   "Volvo XC40", "Ford Maverick", "Tesla Model 3", "Hyundai Ioniq 5", "Mini Cooper",
                                   "Jeep Wrangler", "Volkswagen ID.4"};
static const char *const relations[] = {"coworker", "neighbor", "cousin", "roommate", "boss", "yoga teacher",
                                        "old friend from college", "brother-in-law", "landlord", "therapist"};
static const char *const tries[][2] = {
    {"try bouldering", "bouldering"}, {"join a choir", "a choir"}, {"run a half marathon", "running"},
    {"start journaling", "journaling"}, {"learn to skateboard", "skateboarding"}, {"go vegetarian", "vegetarian food"},
    {"volunteer at the animal shelter", "volunteering"}, {"take up chess", "chess"}, {"try cold plunges", "cold plunges"},
    {"plant a vegetable garden", "gardening"}, {"learn to sail", "sailing"}, {"try birdwatching", "birdwatching"},
};
static const char *const family[] = {"sister", "brother", "mom", "dad", "aunt", "grandma", "uncle", "cousin"};
static const char *const fav_kinds[][2] = {
    {"coffee drink", "oat milk latte|cortado|iced americano|chai latte|flat white|cold brew"},
    {"TV show", "Severance|Ted Lasso|The Bear|Abbott Elementary|Succession|Schitt's Creek"},
    {"podcast", "Radiolab|Hidden Brain|Song Exploder|99% Invisible|Conan O'Brien Needs a Friend"},
    {"board game", "Wingspan|Catan|Ticket to Ride|Codenames|Azul|Pandemic"},
    {"snack", "spicy peanuts|rice crackers|dark chocolate almonds|kimchi chips|dried mango"},
};
static const char *const races[] = {"the 10K", "the half marathon", "the charity 5K", "the trail race",
                                    "the city marathon", "the triathlon"};
static const char *const years_of[] = {"playing the cello", "rock climbing", "teaching", "painting", "baking bread",
                                       "running", "learning Japanese", "volunteering at the food bank", "doing yoga",
                                       "writing poetry"};
static const char *const events[][2] = {
    {"passed my driving test", "pass the driving test"}, {"gave a talk at the library", "give a talk at the library"},
    {"went to the LGBTQ support group", "go to the LGBTQ support group"}, {"ran my first 5K", "run a first 5K"},
    {"signed the lease on the new apartment", "sign the lease on the new apartment"},
    {"had my first pottery exhibition", "have a first pottery exhibition"},
    {"went to the adoption agency", "visit the adoption agency"}, {"defended my thesis", "defend the thesis"},
    {"got my braces off", "get the braces off"}, {"planted the apple trees", "plant the apple trees"},
    {"performed at the open mic", "perform at the open mic"}, {"finished the mural", "finish the mural"},
    {"went to my first therapy session", "go to a first therapy session"},
    {"got engaged", "get engaged"}, {"moved into the new place", "move into the new place"},
};
static const char *const happenings[] = {"the recital", "the birthday party", "the book club", "the team dinner",
                                         "the baby shower", "the fundraiser", "the parent-teacher meeting",
                                         "the housewarming"};
static const char *const rooms[] = {"the nursery", "the kitchen", "the garden fence", "the front door",
                                    "the guest room", "the studio"};
static const char *const times[] = {"7:30 pm", "6 pm", "11 am", "2:15 pm", "8 pm", "noon", "9:45 am", "5:30 pm"};
static const char *const months[] = {"January", "February", "March", "April", "May", "June", "July", "August",
                                     "September", "October", "November", "December"};
static const char *const weekdays[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                       "Sunday"};

/* ---- small talk ---- */
static const char *const greet[] = {
    "Hey {o}!", "Hi {o}, [long time no talk|good to hear from you|how have you been]?", "Morning!", "Hey hey!",
    "{o}! How's your week going?", "Hi! [What's new with you|How are things]?", "Hey, it's been [ages|a while]!",
    "Good [morning|evening], {o}.", "Hiya! Got a minute to catch up?", "Hey you. How's life?",
    "Oh hi {o}! [Perfect timing|I was just thinking about you].", "Hello hello!",
};
static const char *const react[] = {
    "Wow, that's [amazing|awesome|so cool|incredible]!", "Oh nice!", "That sounds [like a blast|so fun|lovely|stressful].",
    "Haha, love that.", "No way!", "Good for you!", "I'm so happy for you.", "That's wild.", "Thanks!",
    "Yeah, totally.", "Oh no, that's rough.", "Ha, typical.", "Wow.", "That's [really|super] exciting!",
    "Aww, [that's so sweet|I love that].", "Yes! Finally!", "Oh wow, I had no idea.", "Honestly that's impressive.",
    "That makes sense.", "Lol, of course.", "Oh my gosh, congrats!", "Sounds [perfect|ideal|about right].",
    "I can imagine!", "Ugh, I feel you.", "Right? It's a lot.", "Totally agree.", "Nice one!",
    "Wow, [you're|that's] brave.", "Thanks for sharing that, {o}.", "Yeah, I know what you mean.",
};
static const char *const follow[] = {
    "How did it go?", "What was the best part?", "How are you feeling about it?", "Did you enjoy it?",
    "Tell me more!", "What's next?", "How's everyone doing?", "Was it hard?", "Are you happy with it?",
    "How was the rest of your week?", "Anything else new?", "What made you decide that?", "Who else was there?",
    "Do you think you'll do it again?", "How's work treating you?",
};
static const char *const filler[] = {
    "[Work|Life] has been [crazy|nonstop|pretty chill] lately.", "I've been trying to get more sleep.",
    "The weather here has been [awful|gorgeous|so weird].", "I spent most of the weekend cleaning.",
    "Honestly I just needed a break.", "It's been a [long|good|strange] week.",
    "I made [soup|pancakes|a huge salad|tacos] for dinner.", "The kids are keeping me busy.",
    "I'm so tired today lol.", "We should catch up in person soon.", "Not much else going on, to be honest.",
    "I've been binge-watching cooking videos again.", "My back is killing me from all the gardening.",
    "Traffic was a nightmare this morning.", "I finally cleaned out the garage.",
    "Still recovering from the week, haha.", "I keep meaning to call my parents more.",
    "The neighbors are renovating, so it's loud here.", "I've been drinking way too much coffee.",
    "Anyway, enough about me.", "It's the little things, you know?", "I'm trying to be better about exercise.",
};
static const char *const closing[] = {
    "Gotta run, talk soon!", "Anyway, I should get going.", "Talk later, {o}!", "Take care!", "Bye for now!",
    "Let's chat again next week.", "Okay, dinner's ready. Bye!", "Catch you later!", "Sending hugs!",
    "Thanks for the chat, {o}.", "Good night!",
};
/* elaborations without facts: feelings and commentary, as real chats have */
static const char *const elaborate[] = {
    "It took a while to get used to, but I'm [really |]glad I did it.", "The whole thing made me so happy.",
    "I was nervous at first, but everyone was super welcoming.", "Honestly it was exactly what I needed right now.",
    "I keep thinking about how lucky I am to have people who support me.",
    "It reminded me how important it is to make time for the things I love.",
    "I didn't expect it to be so emotional, but it really got to me.", "It's been a lot, but in a good way.",
    "I'm trying to take things one step at a time and not overthink it.",
    "Some days are harder than others, but I'm getting there.", "The kids thought it was the best thing ever.",
    "We laughed so hard we could barely breathe.", "It was a bit chaotic, but that's half the fun, right?",
    "I felt really proud of myself afterwards.", "It's funny how the small stuff ends up mattering the most.",
    "I never thought I'd be the kind of person who does that, haha.", "My family has been really supportive about it.",
    "I learned a lot about myself, to be honest.", "It was so peaceful, I could have stayed there all day.",
    "It's been on my mind for months, so it feels good to finally do it.",
    "I was exhausted afterwards, but it was totally worth it.", "Everyone kept asking me about it for days.",
    "I think it's going to be really good for me in the long run.", "It definitely pushed me out of my comfort zone.",
    "I can't stop smiling when I think about it.", "We stayed out way later than we planned.",
    "I'm still processing all of it, honestly.", "It made me realize how much I'd been missing that.",
};
static const char *const encourage[] = {
    "That's so awesome, {o}! I'm really proud of you for going for it.",
    "You deserve it, you've been working so hard lately.", "I love how you always find time for the things you care about.",
    "That must have been such a special moment for you.", "It sounds like it meant a lot to you.",
    "I'm so glad it worked out, you were so worried about it.", "You always inspire me to try new things, {o}.",
    "It's great that you have people around you who get it.", "That's the kind of thing you'll remember forever.",
    "I can tell how much you care about it from the way you talk about it.",
    "Keep me posted, I want to hear how it goes!", "Honestly, that sounds like the perfect way to spend a weekend.",
    "I've been meaning to do something like that for ages.", "You make it sound so easy, haha.",
    "Wow, I wish I'd been there to see it.", "That's such a good reminder to slow down and enjoy things.",
};
/* everyday chatter with varied content words, never asked about: real small
 * talk is not one repeated sentence, so rare words alone do not mark a fact */
static const char *const chatter[] = {
    "I spent the [morning|afternoon|whole evening] [reorganizing the pantry|fixing the leaky faucet|repotting the "
    "succulents|sorting old photos|assembling a bookshelf|baking banana bread|walking along the river|cleaning the "
    "windows].",
    "[The|Our] [neighbor's|landlord's|coworker's] [dog|cat|toddler|parrot] [kept us up|was adorable|wandered into the "
    "yard|made everyone laugh] [again|last night|all weekend].",
    "We [grilled|roasted|tried making|ordered] [veggie skewers|dumplings|lasagna|shakshuka|fish tacos|a curry|"
    "homemade pizza] for [dinner|lunch|the potluck] and it was [decent|a disaster|surprisingly good].",
    "The [traffic|commute|train|bus] was [brutal|delayed|packed|weirdly empty] [today|this morning|all week].",
    "I [finally|almost|accidentally] [finished|started|spilled coffee on] [the crossword|my taxes|the laundry|a "
    "puzzle|the garden weeding|my inbox].",
    "My [back|knee|shoulder|neck] has been [sore|acting up|stiff] since the [hike|move|gym session|yard work].",
    "It's been [raining|snowing|so humid|freezing|windy] [nonstop|all week|since Tuesday], so [we stayed in|I "
    "read a lot|the kids are restless|the garden is happy].",
    "I [rearranged|repainted|decluttered|redecorated] the [living room|hallway|balcony|closet] and it feels [so "
    "much bigger|cozier|brighter].",
    "[Work|The project|The office] has been [hectic|slow|full of meetings|chaotic] because of the [audit|"
    "deadline|reorg|new software|holidays].",
    "We [binged|started|gave up on|rewatched] [a baking show|a documentary|a detective series|an old sitcom] [last "
    "night|over the weekend|this week].",
};
static const char *const lead_in[] = {"", "", "", "Oh, guess what! ", "So, ", "Big news: ", "Honestly, ",
                                      "Okay so ", "Funny story, ", "By the way, ", "Oh! ", "Update: "};
static const char *const tail[] = {"", "", "", " I'm so excited about it.", " It's been a wild week.",
                                   " Can't wait to tell you more.", " Still can't believe it.",
                                   " Anyway, that's my news.", " It feels like a big step.", " Wish me luck!"};
static const char *const revise_lead[] = {"Actually, ", "Change of plans: ", "Small update: ", "Turns out ",
                                          "Plot twist, ", "Oh, I forgot to tell you, ", "So that changed: "};

#endif
