/* The integration tests' shared helpers (see harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

struct harness it;

const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "integration: %s is not set; use run.sh\n", name);
        exit(1);
    }
    return v;
}

char *read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

void log_path(char *buf, size_t len, const char *name, const char *ext)
{
    snprintf(buf, len, "%s/%s.%s", it.work, name, ext);
}

/*
 * Starts argv with the environment changes in env ("K=V" sets, "K=" unsets),
 * standard output to WORK/name.out and standard error to WORK/name.log.
 */
/* The children started and not yet waited for, so that what a failed
 * test left running can be stopped, with the names of their logs. */
#define MAX_CHILDREN 256
static pid_t children[MAX_CHILDREN];
static char child_names[MAX_CHILDREN][64];

/* Forgets pid; copies the name it was started under into name ("" when
 * it was not started by spawn). */
static void forget_child(pid_t pid, char *name, size_t len)
{
    name[0] = '\0';
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid) {
            children[i] = 0;
            size_t n = strnlen(child_names[i], sizeof(child_names[i]));
            n = n < len ? n : len - 1;
            memcpy(name, child_names[i], n);
            name[n] = '\0';
        }
    }
}

int harness_kill_leftovers(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
    return 0;
}

/* What AddressSanitizer, LeakSanitizer and UBSan write first when they
 * find something. */
static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"};

void assert_no_sanitizer_report(const char *name)
{
    char *log = output_of(name, "log");
    for (size_t i = 0; i < sizeof(sanitizer_marks) / sizeof(*sanitizer_marks);
         i++) {
        const char *hit = strstr(log, sanitizer_marks[i]);
        if (hit != NULL) {
            const char *line = hit;
            while (line > log && line[-1] != '\n')
                line--;
            char quote[600];
            snprintf(quote, sizeof(quote), "%.*s", (int)strcspn(line, "\n"),
                     line);
            free(log);
            fail_msg("%s/%s.log holds a sanitizer report: %s", it.work, name,
                     quote);
        }
    }
    free(log);
}

pid_t spawn(const char *name, char *const argv[], const char *const env[])
{
    char out[512], err[512];
    log_path(out, sizeof(out), name, "out");
    log_path(err, sizeof(err), name, "log");
    pid_t pid = fork();
    if (pid > 0) {
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (children[i] == 0) {
                children[i] = pid;
                snprintf(child_names[i], sizeof(child_names[i]), "%s", name);
                break;
            }
        }
    }
    if (pid != 0)
        return pid;
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - env[i]), env[i]);
        if (eq[1] == '\0')
            unsetenv(key);
        else
            setenv(key, eq + 1, 1);
    }
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    execv(argv[0], argv);
    _exit(127);
}

int wait_exit(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char name[64];
    forget_child(pid, name, sizeof(name));
    if (name[0] != '\0')
        assert_no_sanitizer_report(name);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run(const char *name, char *const argv[], const char *const env[])
{
    return wait_exit(spawn(name, argv, env));
}

/* Waits up to 30 s for text in WORK/name.log. */
bool wait_log(const char *name, const char *text)
{
    char path[512];
    log_path(path, sizeof(path), name, "log");
    for (int i = 0; i < 300; i++) {
        char *log = read_whole(path);
        bool found = strstr(log, text) != NULL;
        free(log);
        if (found)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

char *output_of(const char *name, const char *ext)
{
    char path[512];
    log_path(path, sizeof(path), name, ext);
    return read_whole(path);
}

/* Starts the worker against the simulator at sim_url with args. */
pid_t start_worker(const char *name, const char *sim_url,
                   const char *const extra_env[], char *const args[])
{
    char exe[512], db[600], base[128];
    snprintf(exe, sizeof(exe), "%s/callstats-worker", it.bin);
    snprintf(db, sizeof(db), "DATABASE_URL=%s", it.db);
    snprintf(base, sizeof(base), "GUANKE_BASE_URL=%s", sim_url);
    const char *env[MAX_ENV] = {db,
                                base,
                                "GUANKE_USERNAME=demo",
                                "GUANKE_PASSWORD=demo-password",
                                "CALLSTATS_INTERNAL_ACCOUNTS=admin",
                                "CALLSTATS_HTTP_TIMEOUT=30"};
    size_t n = 6;
    for (size_t i = 0; extra_env && extra_env[i]; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    char *argv[16] = {exe};
    size_t a = 1;
    for (size_t i = 0; args[i]; i++)
        argv[a++] = args[i];
    argv[a] = NULL;
    return spawn(name, argv, env);
}

/* Runs the worker to its end; returns its exit status. */
int worker(const char *name, const char *sim_url, const char *const extra_env[],
           char *const args[])
{
    return wait_exit(start_worker(name, sim_url, extra_env, args));
}

int sync_days(const char *name, const char *sim_url, const char *from,
              const char *to, const char *const extra_env[])
{
    char *args[] = {"sync", "--from", (char *)from, "--to", (char *)to, NULL};
    return worker(name, sim_url, extra_env, args);
}

json_t *parse_or_fail(const char *text, const char *what)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL)
        fail_msg("%s is not JSON (%s): %.200s", what, jerr.text, text);
    return doc;
}

/* The simulator's ground truth for one day. */
json_t *truth(const char *date)
{
    char exe[512];
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    char *argv[] = {exe,          "truth",        "--date",
                    (char *)date, "--seed",       (char *)it.seed,
                    "--now",      (char *)it.now, NULL};
    assert_int_equal(run("truth", argv, NULL), 0);
    char *out = output_of("truth", "out");
    json_t *doc = parse_or_fail(out, "callstats-sim truth");
    free(out);
    return doc;
}

size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
    struct body *b = userdata;
    b->data = realloc(b->data, b->len + size * n + 1);
    memcpy(b->data + b->len, ptr, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* GETs base+path; returns the body (caller frees) and sets *status. */
char *http_get(const char *base, const char *path, long *status,
               const char *method)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base, path);
    struct body b = {calloc(1, 1), 0};
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    if (method)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("GET %s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    return b.data;
}

/* Sends raw bytes to 127.0.0.1:port; returns all it answers within 5 s. */
char *raw_request(int port, const char *bytes)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        fail_msg("connect to port %d: %s", port, strerror(errno));
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    struct body b = {calloc(1, 1), 0};
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        collect(buf, 1, (size_t)n, &b);
    close(fd);
    return b.data;
}

/* GETs path from the API, expecting HTTP want; returns the parsed body. */
json_t *api_json(const char *path, long want)
{
    long status = 0;
    char *body = http_get(it.api_url, path, &status, NULL);
    if (status != want)
        fail_msg("GET %s: status %ld, wanted %ld: %.300s", path, status, want,
                 body);
    json_t *doc = parse_or_fail(body, path);
    free(body);
    return doc;
}

json_int_t int_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

void start_api(const char *name, int port, const char *db, pid_t *pid_out)
{
    start_api_env(name, port, db, NULL, pid_out);
}

void start_api_env(const char *name, int port, const char *db,
                   const char *const extra_env[], pid_t *pid_out)
{
    char exe[512], dburl[600], apidb[700], listen[64];
    snprintf(exe, sizeof(exe), "%s/callstats-api", it.bin);
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", db);
    /* The API's own role, made by migrate: the later user= wins. */
    snprintf(apidb, sizeof(apidb), "CALLSTATS_API_DATABASE_URL=%s user=%s", db,
             API_ROLE);
    snprintf(listen, sizeof(listen), "CALLSTATS_LISTEN=127.0.0.1:%d", port);
    const char *env[MAX_ENV] = {dburl, apidb, listen,
                                "CALLSTATS_INTERNAL_ACCOUNTS=admin"};
    size_t n = 4;
    for (size_t i = 0; extra_env && extra_env[i] && n + 1 < MAX_ENV; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    char *argv[] = {exe, NULL};
    *pid_out = spawn(name, argv, env);
    if (!wait_log(name, "callstats-api ready"))
        fail_msg("%s did not log its ready line", name);
}

/* A query of the owner's connection that returns one integer. */
long long db_count(const char *sql)
{
    PGconn *conn = PQconnectdb(it.db);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    long long v = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return v;
}

void platform_day(time_t t, char *buf, size_t len)
{
    time_t shifted = t + 8 * 3600;
    struct tm tm;
    gmtime_r(&shifted, &tm);
    strftime(buf, len, "%Y-%m-%d", &tm);
}

pid_t start_live_sim(const char *name, int port, int records)
{
    char exe[512], port_text[16], day[16], day_records[48];
    platform_day(time(NULL), day, sizeof(day));
    snprintf(day_records, sizeof(day_records), "%s=%d", day, records);
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    snprintf(port_text, sizeof(port_text), "%d", port);
    char *argv[] = {exe,         "serve",  "--port",
                    port_text,   "--seed", (char *)it.seed,
                    "--open",    "00:00",  "--day-records",
                    day_records, NULL};
    pid_t pid = spawn(name, argv, NULL);
    if (!wait_log(name, "callstats-sim ready"))
        fail_msg("%s did not log its ready line", name);
    return pid;
}

void pg_ctl(const char *action)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s %s/pg >/dev/null", it.pg_private, action,
             it.work);
    if (system(cmd) != 0)
        fail_msg("pg-private.sh %s failed", action);
}

void db_exec(const char *sql)
{
    PGconn *conn = PQconnectdb(it.db);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
}

void wait_count(const char *sql, long long want)
{
    for (int i = 0; i < 600; i++) {
        if (db_count(sql) >= want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("waited 60 s for %s to reach %lld (it is %lld)", sql, want,
             db_count(sql));
}

char *db_text(const char *sql)
{
    PGconn *conn = PQconnectdb(it.db);
    PGresult *res = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    char *v = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(conn);
    return v;
}

void harness_init(void)
{
    it.bin = need_env("CS_BIN");
    it.work = need_env("CS_WORK");
    it.db = need_env("CS_DB");
    it.sim_url = need_env("CS_SIM_URL");
    it.fault_sim_url = need_env("CS_FAULT_SIM_URL");
    it.seed = need_env("CS_SEED");
    it.now = need_env("CS_NOW");
    it.pg_private = need_env("CS_PG_PRIVATE");
    if (sscanf(need_env("CS_FREE_PORTS"), "%d %d %d", &it.ports[0],
               &it.ports[1], &it.ports[2]) != 3)
        exit(1);
}
