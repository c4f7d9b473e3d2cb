struct pair { long a, b; };
typedef const char *name_t;
enum colour { RED, GREEN };
static int helper(int x) { return x * 3; }
int add(int a, unsigned long b) { return helper(a) + (int)b; }
long count(name_t s, char *t, enum colour c) { long n = c; while (*s++) n++; return n + (t != 0); }
double scale(double v, struct pair p) { return v * (double)p.a; }
int sum(int n, ...) { return n; }
void nothing(void) {}
