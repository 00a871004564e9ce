/*
 * callstats-sim: the upstream simulator's command line. `serve` runs the
 * HTTP server, `truth` prints a day's ground truth as one JSON object.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"
#include "server.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_signal;

static const char usage[] =
    "usage: callstats-sim serve --port P [--seed N] [--now EPOCH] "
    "[--faults LIST]\n"
    "                           [--page-delay-ms N] [--open HH:MM]\n"
    "                           [--day-records YYYY-MM-DD=N[,...]]\n"
    "                           [--username U --password P] [--secret S]\n"
    "       callstats-sim truth --date YYYY-MM-DD [--seed N] [--now EPOCH]\n"
    "                           [--open HH:MM] "
    "[--day-records YYYY-MM-DD=N[,...]]\n"
    "LIST: fault names, comma separated, each as NAME or NAME:N (every Nth\n"
    "request): http500 429 expire badjson slow hang grow shift reset\n"
    "retrydate malformed short repeat empty\n";

struct options {
    struct sim_server_config server;
    bool has_date;
    cs_day date;
};

static void on_signal(int signo)
{
    stop_signal = signo;
}

static bool parse_u64(const char *flag, const char *text, uint64_t max,
                      uint64_t *value)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        goto fail;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || v > max)
        goto fail;
    *value = v;
    return true;
fail:
    cs_error("flag %s: \"%s\" is not a whole number up to %" PRIu64, flag, text,
             max);
    return false;
}

/* A flag both commands take: true when flag is one, *ok telling whether
 * its value was good (logged when not). */
static bool parse_data_flag(const char *flag, const char *value,
                            struct options *o, bool *ok)
{
    struct sim_server_config *c = &o->server;
    uint64_t v;
    if (strcmp(flag, "--seed") == 0) {
        *ok = parse_u64(flag, value, UINT64_MAX, &c->seed);
    } else if (strcmp(flag, "--now") == 0) {
        c->has_now = parse_u64(flag, value, 253402300799ULL, &v);
        c->now = (time_t)v;
        *ok = c->has_now;
    } else if (strcmp(flag, "--open") == 0) {
        *ok = sim_open_parse(value, &c->data);
    } else if (strcmp(flag, "--day-records") == 0) {
        *ok = sim_day_records_parse(value, &c->data);
    } else {
        return false;
    }
    return true;
}

/* A flag of serve alone, as parse_data_flag. */
static bool parse_serve_flag(const char *flag, const char *value,
                             struct options *o, bool *ok)
{
    struct sim_server_config *c = &o->server;
    uint64_t v = 0;
    char err[512];
    if (strcmp(flag, "--port") == 0) {
        *ok = parse_u64(flag, value, 65535, &v);
        c->port = (int)v;
    } else if (strcmp(flag, "--page-delay-ms") == 0) {
        *ok = parse_u64(flag, value, SIM_MAX_PAGE_DELAY, &v);
        c->page_delay_ms = (int)v;
    } else if (strcmp(flag, "--faults") == 0) {
        *ok = sim_faults_parse(value, &c->faults, err, sizeof(err));
        if (!*ok)
            cs_error("flag --faults: %s", err);
    } else if (strcmp(flag, "--username") == 0) {
        c->username = value;
    } else if (strcmp(flag, "--password") == 0) {
        c->password = value;
    } else if (strcmp(flag, "--secret") == 0) {
        c->secret = value;
    } else {
        return false;
    }
    return true;
}

/* One flag and its value; false, logged, on anything wrong. */
static bool parse_flag(const char *flag, const char *value, bool serve,
                       struct options *o)
{
    bool ok = true;
    if (parse_data_flag(flag, value, o, &ok) ||
        (serve && parse_serve_flag(flag, value, o, &ok)))
        return ok;
    if (!serve && strcmp(flag, "--date") == 0) {
        o->has_date = cs_date_parse(value, &o->date);
        if (!o->has_date)
            cs_error("flag --date: \"%s\" is not a date YYYY-MM-DD", value);
        return o->has_date;
    }
    cs_error("unknown flag \"%s\" for callstats-sim %s", flag,
             serve ? "serve" : "truth");
    return false;
}

static bool parse_args(int argc, char **argv, bool serve, struct options *o)
{
    bool has_port = false, has_user = false, has_pass = false;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc || strncmp(argv[i], "--", 2) != 0) {
            cs_error("flag \"%s\" needs a value", argv[i]);
            return false;
        }
        if (!parse_flag(argv[i], argv[i + 1], serve, o))
            return false;
        has_port |= strcmp(argv[i], "--port") == 0;
        has_user |= strcmp(argv[i], "--username") == 0;
        has_pass |= strcmp(argv[i], "--password") == 0;
    }
    if (serve && !has_port) {
        cs_error("flag --port is required");
        return false;
    }
    if (has_user != has_pass) {
        cs_error("flag %s needs %s as well",
                 has_user ? "--username" : "--password",
                 has_user ? "--password" : "--username");
        return false;
    }
    if (!serve && !o->has_date) {
        cs_error("flag --date is required");
        return false;
    }
    return true;
}

static int run_truth(const struct options *o)
{
    struct sim_model m;
    if (!sim_model_init(&m, o->server.seed, &o->server.data))
        return 1;
    struct sim_truth t;
    time_t now = o->server.has_now ? o->server.now : time(NULL);
    sim_truth(&m, o->date, now, &t);
    char date[CS_DATE_LEN];
    cs_date_format(o->date, date);
    printf("{\"date\": \"%s\", \"calls_dialled\": %d, \"calls_answered\": %d, "
           "\"success_orders\": %d, \"grade_9\": %d, \"grade_1\": %d, "
           "\"active_seats\": %d, \"records\": %d, \"discrepancy\": %s}\n",
           date, t.calls_dialled, t.calls_answered, t.success_orders, t.grade_9,
           t.grade_1, t.active_seats, t.calls_dialled,
           t.discrepancy ? "true" : "false");
    sim_model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int run_serve(const struct options *o)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return sim_server_run(&o->server, &stop_signal) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    bool serve = argc >= 2 && strcmp(argv[1], "serve") == 0;
    if (!serve && (argc < 2 || strcmp(argv[1], "truth") != 0)) {
        cs_error("unknown command \"%s\": expected serve or truth",
                 argc >= 2 ? argv[1] : "");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    struct options o;
    memset(&o, 0, sizeof(o));
    o.server.seed = 1;
    o.server.username = "demo";
    o.server.password = "demo-password";
    o.server.secret = "demo-secret";
    sim_data_options_default(&o.server.data);
    if (!parse_args(argc, argv, serve, &o))
        return EXIT_USAGE;
    return serve ? run_serve(&o) : run_truth(&o);
}
