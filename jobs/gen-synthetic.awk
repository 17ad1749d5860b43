# gen-synthetic.awk - fallback synthetic data for the job scripts when
# bin/als-gen is not built. Plain POSIX awk, no other dependency, so it runs
# on any cluster node. Writes three text files als-train reads:
#   OUT/ratings.txt   user item rating      (training ratings)
#   OUT/test.txt      user item rating      (held-out ratings, TESTFRAC of all)
#   OUT/social.txt    i f                   (directed links, weight 1)
#
#   awk -v users=M -v items=N -v rpu=R -v rank=r -v noise=S -v seed=S \
#       -v links=L -v testfrac=F -v out=DIR -f jobs/gen-synthetic.awk
#
# Model: rating = 3 + u_i . v_j + noise, u and v with N(0, r^-1/4) entries so
# that u.v has unit variance. User i rates R distinct items, one drawn at
# random from each of R equal windows of the item range (distinct by
# construction, popularity uniform); user i links to L distinct other users
# the same way. Ids are 0-based. Deterministic for a given seed and awk.
function gauss(   a, b) {
    a = rand(); if (a < 1e-300) a = 1e-300
    b = rand()
    return sqrt(-2 * log(a)) * cos(6.283185307179586 * b)
}
BEGIN {
    if (users == "" || items == "" || rpu == "" || out == "") {
        print "gen-synthetic.awk: need -v users= items= rpu= out=" > "/dev/stderr"
        exit 2
    }
    if (rank == "") rank = 8
    if (noise == "") noise = 0.1
    if (seed == "") seed = 1
    if (links == "") links = 0
    if (testfrac == "") testfrac = 0.1
    users += 0; items += 0; rpu += 0; rank += 0; links += 0; testfrac += 0
    if (rpu > items) rpu = items
    if (links > users - 1) links = users - 1
    srand(seed)
    sd = exp(-0.25 * log(rank))
    for (j = 0; j < items; j++)
        for (c = 0; c < rank; c++)
            V[j, c] = sd * gauss()
    R = out "/ratings.txt"; T = out "/test.txt"; S = out "/social.txt"
    printf "" > T
    printf "" > S
    stride = int(items / rpu); if (stride < 1) stride = 1
    for (i = 0; i < users; i++) {
        for (c = 0; c < rank; c++) u[c] = sd * gauss()
        for (x = 0; x < rpu; x++) {
            j = x * stride + int(rand() * stride)
            if (j >= items) j = items - 1
            d = 3
            for (c = 0; c < rank; c++) d += u[c] * V[j, c]
            d += noise * gauss()
            if (rand() < testfrac) printf "%d %d %.4f\n", i, j, d > T
            else printf "%d %d %.4f\n", i, j, d > R
        }
        if (links > 0) {
            ls = int((users - 1) / links); if (ls < 1) ls = 1
            for (x = 0; x < links; x++) {
                f = x * ls + int(rand() * ls)
                if (f >= users - 1) f = users - 2
                printf "%d %d\n", i, (i + 1 + f) % users > S
            }
        }
    }
    close(R); close(T); close(S)
}
