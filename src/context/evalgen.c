/* The evaluation generator: multi-session conversations of two to four
 * people over months, shaped like public long-conversation benchmarks
 * (LoCoMo-style): dated sessions, greetings and reactions around the facts,
 * questions to each other, details stated once and names that come back,
 * plans and preferences revised later (the question asks for the newest
 * value), numbers, places, titles, and events whose answer is the date of the
 * session they were told in.
 *
 * Not every detail is asked about (about two thirds are), so a compressor
 * cannot know which ones matter; each fact type has several paraphrases, and
 * small talk comes from large pools, so what helps here is keeping concrete
 * details, not matching templates. Everything derives from the seed. */
#include "context/ctx_eval.h"
#include "context/ctx_internal.h"
#include "context/evalgen_pools.h"
#include "helix/hx_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t s;
} rng_t;

static uint32_t rn(rng_t *r, uint32_t n)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = r->s ^ (r->s >> 29);
    return n ? (uint32_t)((x >> 17) % n) : 0;
}

#define PICK(r, a) ((a)[rn((r), (uint32_t)NP(a))])

typedef struct {
    const char *k[8], *v[8];
    int n;
} slots_t;

static void slot(slots_t *s, const char *k, const char *v)
{
    s->k[s->n] = k;
    s->v[s->n++] = v;
}

/* Expands a template (see evalgen_pools.h) into b. */
static int expand(hx_buf_t *b, rng_t *r, const char *t, const slots_t *s)
{
    while (*t) {
        if (*t == '{') {
            const char *e = strchr(t, '}');
            size_t kl = (size_t)(e - t - 1);
            for (int i = 0; i < s->n; i++)
                if (strlen(s->k[i]) == kl && strncmp(s->k[i], t + 1, kl) == 0 && hx_buf_puts(b, s->v[i]))
                    return HX_ENOMEM;
            t = e + 1;
        } else if (*t == '[') {
            const char *alts[12];
            size_t lens[12], na = 0;
            const char *p = t + 1, *q = p;
            for (;; q++) {
                if (*q == '|' || *q == ']') {
                    if (na < 12) {
                        alts[na] = p;
                        lens[na++] = (size_t)(q - p);
                    }
                    p = q + 1;
                    if (*q == ']')
                        break;
                }
            }
            size_t c = rn(r, (uint32_t)na);
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%.*s", (int)lens[c], alts[c]);
            int rc = expand(b, r, tmp, s);
            if (rc)
                return rc;
            t = q + 1;
        } else {
            if (hx_buf_putc(b, (unsigned char)*t++))
                return HX_ENOMEM;
        }
    }
    return HX_OK;
}

/* ---- fact types ---- */
enum {
    F_PET, F_TRIP, F_JOB, F_BOOK, F_FILM, F_FRIEND, F_FOOD, F_CLASS, F_BUY, F_CONCERT, F_FAMILY, F_CAR, F_FAV,
    F_RACE, F_PRICE, F_YEARS, F_EVENT, F_TIME, F_PAINT, F_NTYPES
};

typedef struct {
    const char *state[5];      /* statements of the fact */
    const char *revise[3];     /* statements of a new value (revisable types) */
    const char *ask;           /* the other speaker's question that draws it out */
    const char *q;             /* the evaluation question; {s} is the speaker */
    const char *kind;
    const char *q2;            /* a second question, answered by x (or y when q2_y) */
    const char *kind2;
    int q2_y;
} ftype_t;

static const ftype_t ftypes[F_NTYPES] = {
    [F_PET] = {{"We adopted a {x} [yesterday|this weekend|on Saturday]. [Her|His] name is {v}.",
                "I finally got a {x}! I named [him|her] {v}[ after my grandpa| because it just fit|].",
                "Meet {v}, our new {x}. [We got him from the shelter.|She was the last one in the litter.]",
                "{v} is the {x} we brought home [last week|a few days ago], and [he|she] already owns the couch."},
               {0},
               "Wait, did you get a pet?",
               "What is the name of {s}'s {x}?",
               "name", NULL, NULL, 0},
    [F_TRIP] = {{"We're [planning|hoping] to go to {v} in {x}[, if work lets me|. Flights were cheap|].",
                 "I [just ]booked a trip to {v} for {x}!", "{x} is going to be our {v} trip, I can't wait.",
                 "Thinking of spending {x} in {v} this year."},
                {"we're going to {v} in {x} instead of {old}.", "we dropped {old}. It's {v} in {x} now.",
                 "{old} fell through, so we booked {v} for {x}."},
                "Any travel plans coming up?",
                "Where is {s} travelling in {x}?",
                "place", NULL, NULL, 0},
    [F_JOB] = {{"I [started|accepted an offer for] a new job as a {x} at {v}!", "So I'm officially a {x} at {v} now.",
                "{v} hired me as a {x}. I start on Monday.", "I got the {x} position at {v}[, finally|]."},
               {"I left {old} and I'm at {v} now[, same role but better hours|].",
                "I took a {x} job at {v}, so no more {old}.", "I switched jobs. {v} made me an offer I couldn't refuse."},
               "How's the job hunt going?",
               "Where does {s} work now?",
               "name", NULL, NULL, 0},
    [F_BOOK] = {{"I'm reading {v} by {x} [right now|at the moment] and I can't put it down.",
                 "Just finished {v} by {x}. [Loved it.|The ending wrecked me.]",
                 "[My book club|Someone at work] picked {v}, the {x} one.", "{x} is my new obsession. {v} is so good."},
                {0},
                "Read anything good lately?",
                "Which book by {x} did {s} read?",
                "title", "Who wrote {v}, the book {s} read?", "name", 0},
    [F_FILM] = {{"{x} and I watched {v} [last night|on Friday|over the weekend].",
                 "We finally saw {v}. {x} cried twice, haha.", "{x} made me watch {v} and I have to admit it was great."},
                {0},
                "Seen any good movies?",
                "Which movie did {s} watch with {x}?",
                "title", "Who did {s} watch {v} with?", "name", 0},
    [F_FRIEND] = {{"My {x} {v} [convinced me to|finally got me to] {y}.", "{v}, my {x}, got me to {y}.",
                   "It was my {x} {v} who finally got me to {y}."},
                  {0},
                  "What got you into that?",
                  "Who convinced {s} to {y}?",
                  "name", "Who is {v} to {s}?", "thing", 0},
    [F_FOOD] = {{"We tried a new {x} place called {v}[ downtown| near the station| on Fifth Street].",
                 "Have you been to {v}? It's a {x} spot and the food is unreal.",
                 "Dinner was at {v}, that {x} restaurant I told you about."},
                {0},
                "Where did you go for dinner?",
                "What is the name of the {x} restaurant {s} tried?",
                "name", "What kind of food does {v} serve?", "thing", 0},
    [F_CLASS] = {{"I signed up for {v} classes[ on Tuesdays| at the community center|].",
                  "I started taking {v} lessons, which is so out of character for me.",
                  "So I'm doing a {v} course now, twice a week."},
                 {0},
                 "Are you doing anything for fun these days?",
                 "What class did {s} sign up for?",
                 "thing", NULL, NULL, 0},
    [F_BUY] = {{"I bought a {v} {x}[ on sale| yesterday|]!", "The new {x} is {v}. I wasn't sure at first but I love it.",
                "Went with the {v} {x} in the end."},
               {0},
               "Did you end up getting the {x}?",
               "What color is {s}'s new {x}?",
               "thing", NULL, NULL, 0},
    [F_CONCERT] = {{"We saw {v} live in {x}[ last weekend| on Saturday|]!",
                    "I went to the {v} concert in {x}. Best night of the year.",
                    "Got tickets to {v} in {x} and it was worth every penny."},
                   {0},
                   "How was the concert?",
                   "Which band did {s} see in {x}?",
                   "title", "Where did {s} see {v} live?", "place", 0},
    [F_FAMILY] = {{"My {x} {y} is [visiting|flying in] from {v} [next week|this weekend].",
                   "{y}, my {x}, is coming over from {v} for a few days.",
                   "My {x} {y} just got back to {v} after staying with us."},
                  {0},
                  "Do you have anyone visiting soon?",
                  "Where is {s}'s {x} {y} visiting from?",
                  "place", "What is the name of {s}'s {x} from {v}?", "name", 1},
    [F_CAR] = {{"We finally replaced the old car. Got a {v}.", "I'm driving a {v} now, it's so much better on gas.",
                "Picked up a used {v} from a guy in the next town."},
               {0},
               "What happened with the car?",
               "What car did {s} buy?",
               "name", NULL, NULL, 0},
    [F_FAV] = {{"My [current|absolute] favorite {x} is {v}.", "I'm obsessed with {v} lately. Best {x} ever.",
                "If I had to pick one {x}, it's {v}."},
               {"I'm over {old}, {v} is my favorite {x} now.", "{v} has replaced {old} as my favorite {x}.",
                "my favorite {x} these days is {v}, not {old}."},
               "What are you into lately?",
               "What is {s}'s favorite {x} now?",
               "thing", NULL, NULL, 0},
    [F_RACE] = {{"I ran {x} in {v}!", "Finished {x} in {v}, a personal best.", "My time for {x} was {v}. Not bad, right?"},
                {0},
                "How was the race?",
                "How long did it take {s} to finish {x}?",
                "number", NULL, NULL, 0},
    [F_PRICE] = {{"The {x} cost {v}, [which hurt|a bargain honestly|more than I wanted].", "I paid {v} for the {x}.", "The {x} was {v} but it was worth it."},
                 {0},
                 "Was the {x} expensive?",
                 "How much did {s} pay for the {x}?",
                 "number", NULL, NULL, 0},
    [F_YEARS] = {{"I've been {x} for {v} now.", "Can you believe I've been {x} for {v}?",
                  "{v} of {x} and I still love it."},
                 {0},
                 "How long have you been doing that?",
                 "How long has {s} been {x}?",
                 "number", NULL, NULL, 0},
    [F_EVENT] = {{"I {x} today!", "Today I {x}[, and it went well|. My hands are still shaking|].",
                  "Guess what, I {x} this morning."},
                 {0},
                 "What did you get up to today?",
                 "When did {s} {y}?",
                 "date", NULL, NULL, 0},
    [F_TIME] = {{"{x} is at {v} on {y}.", "Don't forget, {x} starts at {v} on {y}.", "{x}: {y}, {v}. Write it down!"},
                {"{x} got moved to {v}.", "{x} is now at {v}, not {old}.", "they changed {x} to {v}."},
                "When is it again?",
                "What time is {s}'s {x}?",
                "number", NULL, NULL, 0},
    [F_PAINT] = {{"We decided to paint {x} {v}.", "{x} is going to be {v}, we agreed last night.",
                  "After a lot of arguing, {v} won for {x}."},
                 {0},
                 "Did you pick a color?",
                 "What color did {s} decide to paint {x}?",
                 "thing", NULL, NULL, 0},
};

static const int revisable[F_NTYPES] = {[F_TRIP] = 1, [F_JOB] = 1, [F_FAV] = 1, [F_TIME] = 1};

typedef struct {
    int type, speaker;
    char v[96], x[96], y[96];
    int day;                   /* session day it was stated */
    int asked;
} fact_t;

typedef struct {
    rng_t r;
    ctx_eval_conv_t *c;
    const char *names[4];
    int n_people;
    char pets[4][32];
    char sid[32];
    int64_t t;                 /* ms of the next message */
    int day;
    fact_t *facts;
    size_t nf, fcap;
} gen_t;

static int push_msg(gen_t *g, int who, hx_buf_t *b)
{
    int rc = ctx_eval_push_msg(g->c, g->names[who], hx_buf_cstr(b), g->sid, g->t);
    g->t += 20000 + rn(&g->r, 150000);
    hx_buf_reset(b);
    return rc;
}

static void cpy(char *d, const char *s) { snprintf(d, 96, "%s", s); }

/* A new value of fact type t for speaker who (x, y fixed by the caller when
 * the fact is a revision). */
static void draw(gen_t *g, fact_t *f, int keep_x)
{
    rng_t *r = &g->r;
    char tmp[96];
    switch (f->type) {
    case F_PET: cpy(f->x, PICK(r, animals)); cpy(f->v, PICK(r, pet_names)); break;
    case F_TRIP: if (!keep_x) cpy(f->x, PICK(r, months)); cpy(f->v, PICK(r, cities)); break;
    case F_JOB: if (!keep_x) cpy(f->x, PICK(r, job_titles)); cpy(f->v, PICK(r, companies)); break;
    case F_BOOK: {
        uint32_t k = rn(r, (uint32_t)NP(books));
        cpy(f->v, books[k][0]);
        cpy(f->x, books[k][1]);
        break;
    }
    case F_FILM: cpy(f->v, PICK(r, films)); cpy(f->x, PICK(r, first_names)); break;
    case F_FRIEND: {
        uint32_t k = rn(r, (uint32_t)NP(tries));
        cpy(f->x, PICK(r, relations));
        if (rn(r, 2))
            snprintf(tmp, sizeof tmp, "%s %s", PICK(r, first_names), PICK(r, last_names));
        else
            snprintf(tmp, sizeof tmp, "%s", PICK(r, first_names));
        cpy(f->v, tmp);
        cpy(f->y, tries[k][0]);
        break;
    }
    case F_FOOD: cpy(f->x, PICK(r, cuisines)); cpy(f->v, PICK(r, restaurants)); break;
    case F_CLASS: cpy(f->v, PICK(r, classes)); break;
    case F_BUY: cpy(f->x, PICK(r, objects)); cpy(f->v, PICK(r, colors)); break;
    case F_CONCERT: cpy(f->v, PICK(r, bands)); cpy(f->x, PICK(r, cities)); break;
    case F_FAMILY: cpy(f->x, PICK(r, family)); cpy(f->y, PICK(r, first_names)); cpy(f->v, PICK(r, cities)); break;
    case F_CAR: cpy(f->v, PICK(r, cars)); break;
    case F_FAV: {
        uint32_t k = keep_x ? 0 : rn(r, (uint32_t)NP(fav_kinds));
        if (!keep_x)
            cpy(f->x, fav_kinds[k][0]);
        for (k = 0; k < NP(fav_kinds) && strcmp(fav_kinds[k][0], f->x); k++)
            ;
        const char *opts = fav_kinds[k][1];
        int cnt = 1;
        for (const char *p = opts; *p; p++)
            cnt += *p == '|';
        int want = (int)rn(r, (uint32_t)cnt);
        const char *p = opts;
        while (want-- > 0)
            p = strchr(p, '|') + 1;
        const char *e = strchr(p, '|');
        snprintf(f->v, sizeof f->v, "%.*s", (int)(e ? (size_t)(e - p) : strlen(p)), p);
        break;
    }
    case F_RACE: {
        cpy(f->x, PICK(r, races));
        unsigned m = 22 + rn(r, 200);
        if (m >= 60)
            snprintf(tmp, sizeof tmp, "%u hours %u minutes", m / 60, m % 60);
        else
            snprintf(tmp, sizeof tmp, "%u minutes", m);
        cpy(f->v, tmp);
        break;
    }
    case F_PRICE: {
        cpy(f->x, PICK(r, objects));
        unsigned p = 40 + rn(r, 2400);
        if (p >= 1000)
            snprintf(tmp, sizeof tmp, "$%u,%03u", p / 1000, p % 1000);
        else
            snprintf(tmp, sizeof tmp, "$%u", p);
        cpy(f->v, tmp);
        break;
    }
    case F_YEARS: {
        cpy(f->x, PICK(r, years_of));
        snprintf(tmp, sizeof tmp, "%u years", 2 + rn(r, 24));
        cpy(f->v, tmp);
        break;
    }
    case F_EVENT: {
        uint32_t k = rn(r, (uint32_t)NP(events));
        cpy(f->x, events[k][0]);
        cpy(f->y, events[k][1]);
        break;
    }
    case F_TIME:
        if (!keep_x) {
            cpy(f->x, PICK(r, happenings));
            cpy(f->y, PICK(r, weekdays));
        }
        cpy(f->v, PICK(r, times));
        break;
    case F_PAINT: cpy(f->x, PICK(r, rooms)); cpy(f->v, PICK(r, colors)); break;
    }
}

/* After a lead-in ("So, ") a statement's first word is lowercased unless it
 * is "I" or a name (a slot value: templates starting with {v} or {x}). */
static void low_first(char *s)
{
    static const char *const w[] = {"The ", "My ", "We", "Have ", "Just ", "Dinner ", "Meet ", "Got ", "Finished ",
                                    "After ", "Today ", "Guess ", "Went ", "Picked ", "Thinking ", "Someone ",
                                    "Don't ", "Can ", "If ", "It ", "Read "};
    for (size_t i = 0; i < NP(w); i++)
        if (strncmp(s, w[i], strlen(w[i])) == 0) {
            s[0] = (char)(s[0] - 'A' + 'a');
            return;
        }
}

static void cap_first(char *s)
{
    if (*s >= 'a' && *s <= 'z')
        *s = (char)(*s - 'a' + 'A');
}

/* One turn of small talk by who (react / filler / follow-up / pet mention). */
static int small_talk(gen_t *g, hx_buf_t *b, int who, int other, int question)
{
    slots_t s = {0};
    slot(&s, "o", g->names[other]);
    slot(&s, "p", g->pets[who]);
    int rc = expand(b, &g->r, PICK(&g->r, react), &s);
    if (!rc && rn(&g->r, 2)) {
        hx_buf_putc(b, ' ');
        rc = expand(b, &g->r, rn(&g->r, 2) ? PICK(&g->r, encourage) : PICK(&g->r, elaborate), &s);
    }
    if (!rc && rn(&g->r, 3) == 0) {
        hx_buf_putc(b, ' ');
        if (rn(&g->r, 2))
            rc = expand(b, &g->r, PICK(&g->r, chatter), &s);
        else if (g->pets[who][0] && rn(&g->r, 3) == 0)
            rc = expand(b, &g->r,
                        "[{p} says hi, by the way.|{p} is asleep on my feet right now.|{p} chewed my shoe again.]",
                        &s);
        else
            rc = expand(b, &g->r, PICK(&g->r, filler), &s);
    }
    if (!rc && question) {
        hx_buf_putc(b, ' ');
        rc = expand(b, &g->r, PICK(&g->r, follow), &s);
    }
    return rc;
}

static fact_t *new_fact(gen_t *g)
{
    if (g->nf == g->fcap) {
        size_t nc = g->fcap ? g->fcap * 2 : 64;
        fact_t *f = realloc(g->facts, nc * sizeof *f);
        if (!f)
            return NULL;
        g->facts = f;
        g->fcap = nc;
    }
    fact_t *f = &g->facts[g->nf++];
    memset(f, 0, sizeof *f);
    return f;
}

/* A fact episode: maybe asked for, stated with fluff around it, reacted to. */
static int fact_episode(gen_t *g, hx_buf_t *b, int who, int other)
{
    rng_t *r = &g->r;
    fact_t *f = NULL, *old = NULL;
    /* a revision of an earlier revisable fact of this speaker, now and then */
    if (rn(r, 5) == 0)
        for (size_t i = 0; i < g->nf; i++)
            if (g->facts[i].speaker == who && revisable[g->facts[i].type] && g->facts[i].asked >= 0 &&
                g->day - g->facts[i].day > 6 && rn(r, 2)) {
                old = &g->facts[i];
                break;
            }
    size_t oi = old ? (size_t)(old - g->facts) : 0;
    if (!(f = new_fact(g)))
        return HX_ENOMEM;
    if (old) {
        old = &g->facts[oi]; /* new_fact may have moved the array */
        *f = *old;
        draw(g, f, 1);
        if (strcmp(f->v, old->v) == 0)
            draw(g, f, 1);
        old->asked = -1; /* superseded: only the newest value is asked */
    } else {
        f->type = (int)rn(r, F_NTYPES);
        f->speaker = who;
        draw(g, f, 0);
        if (f->type == F_PET && !g->pets[who][0])
            snprintf(g->pets[who], sizeof g->pets[who], "%s", f->v);
    }
    f->day = g->day;
    const ftype_t *ft = &ftypes[f->type];
    slots_t s = {0};
    slot(&s, "v", f->v);
    slot(&s, "x", f->x);
    slot(&s, "y", f->y);
    slot(&s, "o", g->names[other]);
    slot(&s, "old", old ? old->v : "");
    int rc = HX_OK;
    if (rn(r, 3) == 0) { /* the other one asks first: a question and its answer */
        if ((rc = expand(b, r, ft->ask, &s)) || (rc = push_msg(g, other, b)))
            return rc;
    }
    char tmp[512];
    hx_buf_t st = HX_BUF_INIT;
    if (old) {
        rc = expand(&st, r, ft->revise[rn(r, 3)], &s);
        snprintf(tmp, sizeof tmp, "%s%s", PICK(r, revise_lead), hx_buf_cstr(&st));
    } else {
        int ns = 0;
        while (ns < 5 && ft->state[ns] && ft->state[ns][0])
            ns++;
        rc = expand(&st, r, ft->state[rn(r, (uint32_t)ns)], &s);
        const char *li = PICK(r, lead_in);
        char *body = (char *)hx_buf_cstr(&st);
        if (li[0])
            low_first(body);
        snprintf(tmp, sizeof tmp, "%s%s", li, body);
    }
    hx_buf_free(&st);
    if (rc)
        return rc;
    cap_first(tmp);
    if (rn(r, 3) == 0) { /* small talk before the fact, in the same turn */
        slots_t s2 = {0};
        slot(&s2, "o", g->names[other]);
        if ((rc = expand(b, r, PICK(r, filler), &s2)))
            return rc;
        hx_buf_putc(b, ' ');
    }
    hx_buf_puts(b, tmp);
    hx_buf_puts(b, PICK(r, tail));
    if (rn(r, 2)) {
        hx_buf_putc(b, ' ');
        if ((rc = expand(b, r, PICK(r, elaborate), &s)))
            return rc;
    }
    if ((rc = push_msg(g, who, b)))
        return rc;
    /* reaction and a follow-up, answered with small talk */
    if ((rc = small_talk(g, b, other, who, rn(r, 2))) || (rc = push_msg(g, other, b)))
        return rc;
    if (rn(r, 2) && ((rc = small_talk(g, b, who, other, 0)) || (rc = push_msg(g, who, b))))
        return rc;
    f->asked = rn(r, 3) != 0;
    return HX_OK;
}

static int session(gen_t *g, hx_buf_t *b, int sess)
{
    rng_t *r = &g->r;
    snprintf(g->sid, sizeof g->sid, "session-%d", sess + 1);
    g->t = ((int64_t)g->day * 86400 + 9 * 3600 + rn(r, 12 * 3600)) * 1000;
    /* who takes part: the two main people, sometimes a third or fourth */
    int part[4] = {0, 1, -1, -1}, np = 2;
    for (int k = 2; k < g->n_people; k++)
        if (rn(r, 3) == 0)
            part[np++] = k;
    int a = part[rn(r, (uint32_t)np)], o = a == part[0] ? part[1] : part[0];
    slots_t s = {0};
    slot(&s, "o", g->names[o]);
    int rc;
    if ((rc = expand(b, r, PICK(r, greet), &s)) || (rc = push_msg(g, a, b)))
        return rc;
    slots_t s2 = {0};
    slot(&s2, "o", g->names[a]);
    if ((rc = expand(b, r, PICK(r, greet), &s2)) || (hx_buf_putc(b, ' '), rc = expand(b, r, PICK(r, filler), &s2)) ||
        (rc = push_msg(g, o, b)))
        return rc;
    int episodes = 5 + (int)rn(r, 6);
    for (int e = 0; e < episodes; e++) {
        int who = part[rn(r, (uint32_t)np)], other = part[rn(r, (uint32_t)np)];
        if (other == who)
            other = who == part[0] ? part[1] : part[0];
        if (rn(r, 10) < 7)
            rc = fact_episode(g, b, who, other);
        else {
            int turns = 2 + (int)rn(r, 4);
            for (int t = 0; t < turns && !rc; t++) {
                int sp = t % 2 ? other : who, ls = t % 2 ? who : other;
                rc = small_talk(g, b, sp, ls, rn(r, 3) == 0);
                if (!rc)
                    rc = push_msg(g, sp, b);
            }
        }
        if (rc)
            return rc;
    }
    slots_t s3 = {0};
    slot(&s3, "o", g->names[o]);
    if ((rc = expand(b, r, PICK(r, closing), &s3)) || (rc = push_msg(g, a, b)))
        return rc;
    return HX_OK;
}

void ctx_eval_conv_free(ctx_eval_conv_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->msgs[i].speaker);
        free(c->msgs[i].content);
        free(c->msgs[i].session_id);
    }
    for (size_t i = 0; i < c->nq; i++) {
        free(c->qs[i].question);
        free(c->qs[i].answer);
    }
    free(c->msgs);
    free(c->qs);
    memset(c, 0, sizeof *c);
}

int ctx_evalgen(uint64_t seed, ctx_eval_conv_t *out)
{
    memset(out, 0, sizeof *out);
    gen_t g = {.r = {seed * 0x9E3779B97F4A7C15ull + 12345}, .c = out};
    rn(&g.r, 1);
    g.n_people = 2 + (rn(&g.r, 2) ? (int)rn(&g.r, 3) : 0);
    for (int i = 0; i < g.n_people; i++) {
        const char *n;
        int dup;
        do {
            n = PICK(&g.r, first_names);
            dup = 0;
            for (int k = 0; k < i; k++)
                dup |= strcmp(g.names[k], n) == 0;
        } while (dup);
        g.names[i] = n;
    }
    g.day = 19000 + (int)rn(&g.r, 500); /* 2022-2023 */
    int sessions = 18 + (int)rn(&g.r, 10);
    hx_buf_t b = HX_BUF_INIT;
    int rc = HX_OK;
    for (int s = 0; s < sessions && !rc; s++) {
        rc = session(&g, &b, s);
        g.day += 2 + (int)rn(&g.r, 20);
    }
    hx_buf_free(&b);
    /* questions: one per asked fact. A wording that two live facts share
     * (two dogs of one person; two favourites told apart, the older one
     * revised later) has no one answer, so it is not asked - whether or not
     * the other fact was to be asked. */
    char **qw = calloc(g.nf ? g.nf : 1, sizeof *qw);
    if (!qw)
        rc = HX_ENOMEM;
    for (size_t i = 0; i < g.nf && !rc; i++) {
        fact_t *f = &g.facts[i];
        if (f->asked < 0)
            continue;
        slots_t s = {0};
        slot(&s, "s", g.names[f->speaker]);
        slot(&s, "x", f->x);
        slot(&s, "y", f->y);
        hx_buf_t q = HX_BUF_INIT;
        if (!(rc = expand(&q, &g.r, ftypes[f->type].q, &s)) && !(qw[i] = hx_buf_steal(&q)))
            rc = HX_ENOMEM;
        hx_buf_free(&q);
    }
    for (size_t i = 0; i < g.nf && !rc; i++) {
        fact_t *f = &g.facts[i];
        if (f->asked != 1)
            continue;
        int dup = 0;
        for (size_t j = 0; j < g.nf && !dup; j++)
            dup = j != i && qw[j] && strcmp(qw[i], qw[j]) == 0;
        if (dup)
            continue;
        if (ftypes[f->type].q2) {
            slots_t s = {0};
            slot(&s, "s", g.names[f->speaker]);
            slot(&s, "x", f->x);
            slot(&s, "y", f->y);
            slot(&s, "v", f->v);
            hx_buf_t q2 = HX_BUF_INIT;
            if (!(rc = expand(&q2, &g.r, ftypes[f->type].q2, &s)))
                rc = ctx_eval_push_q(out, hx_buf_cstr(&q2), ftypes[f->type].q2_y ? f->y : f->x, ftypes[f->type].kind2);
            hx_buf_free(&q2);
        }
        char date[48];
        if (f->type == F_EVENT)
            ctx_fmt_date((int64_t)f->day * 86400000, date, sizeof date);
        if (!rc)
            rc = ctx_eval_push_q(out, qw[i], f->type == F_EVENT ? date : f->v, ftypes[f->type].kind);
    }
    for (size_t i = 0; qw && i < g.nf; i++)
        free(qw[i]);
    free(qw);
    free(g.facts);
    if (rc)
        ctx_eval_conv_free(out);
    return rc;
}
