/* Unit tests of the streaming CDR page reader: every body is also read the
 * way the worker has read pages so far (jansson, rec_parse_page), and the
 * two must agree on the outcome, the envelope, each record field by field
 * and each error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "../../worker/cdrpage.h"
#include "../../worker/jfield.h"
#include "../../worker/records.h"

/* Bodies are written with ' for " to stay readable. */
static char *json_text(const char *quoted)
{
    char *text = strdup(quoted);
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    return text;
}

/* A page of the platform's: both record shapes, ids as numbers and
 * strings, the collected fields as JSON in strings. The numbers are
 * made up. */
#define REALISTIC_RECORDS                                                        \
    "{'id':120377000001,'callTime':1760576400,'taskId':2037701,"                 \
    "'TaskName':'外呼任务20251016-01','userId':10701,'deviceId':7001,"       \
    "'deviceName':'线路01','phone':'13800000001','realPhone':'13800000001',"   \
    "'params':'{\\'source\\':\\'crm\\',\\'batch\\':\\'B879\\'}','remark':'',"    \
    "'ext':'{\\'name\\':\\'陈先生\\',\\'age\\':27}','ccId':0,'isFollow':0,"   \
    "'companyId':3007,'duration':0,'isCall':1,'hangupReason':'CALL_REJECTED',"   \
    "'grade':'关机','province':'四川','city':'成都','audio':''},"          \
    "{'id':'120377000002','startTime':'2025-10-16 09:00:01',"                    \
    "'endTime':'2025-10-16 09:00:18','taskId':2037701,"                          \
    "'taskName':'外呼任务20251016-01','userId':10701,'deviceId':7001,"       \
    "'deviceName':'线路01','phone':'13800000002','realPhone':'13800000002',"   \
    "'params':'{}','remark':'老客户回访','ext':'{}','ccId':0,'isFollow':0," \
    "'companyId':3007,'duration':0,'isCall':1,'hangupReason':'USER_BUSY',"       \
    "'grade':null,'province':'四川','city':'成都','audio':''},"              \
    "{'id':120377000030,'callTime':1760576417,'taskId':2037706,"                 \
    "'TaskName':'外呼任务20251016-06','userId':10709,'deviceId':7002,"       \
    "'deviceName':'线路02','phone':'13800000003','realPhone':'13800000003',"   \
    "'params':'{}','remark':'','ext':'{}','ccId':0,'isFollow':0,"                \
    "'companyId':3007,'duration':39,'isCall':1,"                                 \
    "'hangupReason':'NORMAL_CLEARING','grade':'AS1 成功单9元',"              \
    "'province':'浙江','city':'杭州',"                                       \
    "'audio':'https://audio.sim.invalid/20251016/120377000030.wav'},"            \
    "{'id':'120377000041','startTime':'2025-10-16 09:00:23',"                    \
    "'endTime':'2025-10-16 09:02:47','taskId':'2037705',"                        \
    "'taskName':'外呼任务20251016-05','userId':'10709','deviceId':'7001',"   \
    "'deviceName':'线路01','phone':'13800000004','realPhone':'13800000004',"   \
    "'params':'','remark':'','ext':'','ccId':'0','isFollow':'0',"                \
    "'companyId':'3007','duration':'144','isCall':'1',"                          \
    "'hangupReason':'NORMAL_CLEARING','grade':'AN4 明确拒绝',"               \
    "'province':'广东','city':'深圳','audio':''}"

#define REALISTIC_PAGE                                                         \
    "{'code':200,'message':'ok','data':{'data':[" REALISTIC_RECORDS            \
    "],'totalCount':94305,'page':1,'pageSize':1000,'start':1760544000,"        \
    "'end':1760630399}}"

/* How many bytes of a record's strings its offsets reach. */
static size_t strings_len(const struct rec_record *rec)
{
    size_t end = 0;
    for (int i = 0; i < REC_TEXT_COUNT; i++) {
        const char *t = rec_text(rec, (enum rec_text)i);
        if (t != NULL && (size_t)rec->offset[i] + strlen(t) + 1 > end)
            end = (size_t)rec->offset[i] + strlen(t) + 1;
    }
    return end;
}

/* Whether any of rec's text contains part. */
static bool holds(const struct rec_record *rec, const char *part)
{
    for (int i = 0; i < REC_TEXT_COUNT; i++) {
        const char *t = rec_text(rec, (enum rec_text)i);
        if (t != NULL && strstr(t, part) != NULL)
            return true;
    }
    return false;
}

/* The first field in which two records differ, NULL when none does. */
static const char *record_differs(const struct rec_record *a,
                                  const struct rec_record *b)
{
    if (memcmp(a->offset, b->offset, sizeof(a->offset)) != 0)
        return "text offsets";
    if (strings_len(a) != strings_len(b) ||
        memcmp(a->strings, b->strings, strings_len(a)) != 0)
        return "text";
    if (a->call_time != b->call_time)
        return "call_time";
    if (a->end_time != b->end_time)
        return "end_time";
    if (a->duration != b->duration)
        return "duration";
    if (a->has_is_follow != b->has_is_follow ||
        (a->has_is_follow && a->is_follow != b->is_follow))
        return "is_follow";
    if (a->has_is_call != b->has_is_call ||
        (a->has_is_call && a->is_call != b->is_call))
        return "is_call";
    return a->seq != b->seq ? "seq" : NULL;
}

/* What the worker has made of a body so far. */
struct old_read {
    bool json;
    bool has_code;
    int64_t code;
    const char *message;
    bool has_data;
    bool page_ok;
    int64_t total;
    size_t count;
    struct werr err;
};

static json_t *read_as_before(const char *body, size_t len,
                              struct rec_list *list, struct old_read *old)
{
    json_error_t jerr;
    memset(old, 0, sizeof(*old));
    json_t *root = json_loadb(body, len, 0, &jerr);
    old->json = root != NULL;
    if (root == NULL)
        return NULL;
    struct werr ignored = {{0}};
    old->has_code = jf_int(json_object_get(root, "code"), "code", &old->code,
                           &ignored) == JF_OK;
    old->message = json_string_value(json_object_get(root, "message"));
    const json_t *data = json_object_get(root, "data");
    old->has_data = data != NULL;
    old->page_ok = rec_parse_page(data ? data : json_null(), list, &old->total,
                                  &old->count, &old->err);
    return root;
}

/* How the two readings of body differ, NULL when they agree. Each list
 * starts with `before` records. */
static const char *readings_differ(const char *body, size_t len,
                                   struct rec_list *old_list,
                                   struct rec_list *new_list, size_t before)
{
    struct old_read old;
    struct cdrpage page;
    json_t *root = read_as_before(body, len, old_list, &old);
    enum cdrpage_outcome out = cdrpage_parse(body, len, new_list, &page);
    const char *d = NULL;
    if (!old.json)
        d = out != CDRPAGE_NOT_JSON ? "jansson refused the body" : NULL;
    else if (out == CDRPAGE_NOT_JSON)
        d = "cdrpage refused the body";
    else if (old.has_code != page.has_code ||
             (old.has_code && old.code != page.code))
        d = "code";
    else if ((old.message == NULL) != (page.message == NULL) ||
             (old.message && strcmp(old.message, page.message) != 0))
        d = "message";
    else if (old.has_data != page.has_data)
        d = "has_data";
    else if (old.page_ok != (out == CDRPAGE_OK))
        d = "page outcome";
    else if (!old.page_ok && strcmp(old.err.msg, page.problem.msg) != 0)
        d = "page error";
    else if (!old.page_ok && new_list->count != before)
        d = "records left after a failure";
    else if (old.page_ok &&
             (old.total != page.total_count || old.count != page.count ||
              old_list->count != new_list->count))
        d = "totalCount or count";
    for (size_t i = before; d == NULL && old.page_ok && i < new_list->count;
         i++)
        d = record_differs(&old_list->items[i], &new_list->items[i]);
    if (d != NULL)
        fprintf(stderr, "differ: %s\n  jansson: %s\n  cdrpage: %s\n", d,
                old.err.msg, page.problem.msg);
    cdrpage_free(&page);
    json_decref(root);
    return d;
}

/* Both readings of the body written with ' for ", which must agree;
 * returns cdrpage's outcome and, when asked, its report. */
static enum cdrpage_outcome expect_same(const char *quoted, struct werr *out)
{
    char *body = json_text(quoted);
    struct rec_list a = {0}, b = {0};
    const char *d = readings_differ(body, strlen(body), &a, &b, 0);
    if (d != NULL)
        fail_msg("%s differs for %s", d, body);
    struct rec_list c = {0};
    struct cdrpage page;
    enum cdrpage_outcome got = cdrpage_parse(body, strlen(body), &c, &page);
    if (out != NULL)
        *out = page.problem;
    cdrpage_free(&page);
    rec_list_free(&a);
    rec_list_free(&b);
    rec_list_free(&c);
    free(body);
    return got;
}

/* A page around records, and a total. */
static enum cdrpage_outcome expect_same_page(const char *records,
                                             struct werr *out)
{
    char body[8192];
    snprintf(body, sizeof(body),
             "{'code':200,'message':'ok','data':{'data':[%s],"
             "'totalCount':9}}",
             records);
    return expect_same(body, out);
}

static void expect_problem(const struct werr *w, const char *part)
{
    if (strstr(w->msg, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", w->msg, part);
}

static void realistic_page(void **state)
{
    (void)state;
    assert_int_equal(expect_same(REALISTIC_PAGE, NULL), CDRPAGE_OK);
    char *body = json_text(REALISTIC_PAGE);
    struct rec_list list = {0};
    struct cdrpage page;
    assert_int_equal(cdrpage_parse(body, strlen(body), &list, &page),
                     CDRPAGE_OK);
    assert_true(page.has_code);
    assert_int_equal(page.code, 200);
    assert_string_equal(page.message, "ok");
    assert_int_equal(page.total_count, 94305);
    assert_int_equal(page.count, 4);
    assert_int_equal(list.count, 4);
    const struct rec_record *second = &list.items[1];
    assert_string_equal(rec_text(second, REC_ID), "120377000002");
    assert_string_equal(rec_text(second, REC_TASK_NAME), "外呼任务20251016-01");
    assert_null(rec_text(second, REC_GRADE));
    /* 09:00:01 at UTC+8. */
    assert_int_equal(second->call_time, 1760576401);
    assert_int_equal(list.items[3].duration, 144);
    /* Nothing of the customer's numbers is kept. */
    for (size_t i = 0; i < list.count; i++)
        assert_false(holds(&list.items[i], "138000000"));
    cdrpage_free(&page);
    rec_list_free(&list);
    free(body);
}

static void numbers_as_strings_and_reals(void **state)
{
    (void)state;
    assert_int_equal(
        expect_same_page(
            "{'id':'7','callTime':'1760576400','duration':'35',"
            "'isCall':'1','isFollow':' 0 ','taskId':5012.0,"
            "'userId':1.5,'companyId':-0,'ccId':1e3,'deviceId':true,"
            "'deviceName':false,'grade':12345678901234567},"
            "{'id':7.0,'callTime':1760576400.0,'duration':35.00,"
            "'isCall':1.0,'endTime':'1760576460','taskId':-12,"
            "'audio':0.1,'city':-0.0,'province':1E300},"
            "{'id':-9223372036854775808,'duration':'+3','isFollow':'7.00',"
            "'callTime':'  1760576400  ','endTime':1760576499}",
            NULL),
        CDRPAGE_OK);
}

static void null_and_empty_values(void **state)
{
    (void)state;
    assert_int_equal(
        expect_same_page(
            "{'id':'a','callTime':null,'startTime':'2025-10-16 09:00:01',"
            "'endTime':'','duration':null,'isCall':'','isFollow':null,"
            "'TaskName':null,'taskName':'second','grade':'','ccId':null},"
            "{'id':'b','callTime':0,'startTime':'2025-10-16 09:00:01',"
            "'TaskName':'','taskName':'not read','duration':'',"
            "'isCall':' ','endTime':'0'},"
            "{'id':'c','callTime':'','startTime':'2025-10-16 09:00:01'},"
            "{'id':'d','startTime':'1970-01-01 08:00:00','endTime':0}",
            NULL),
        CDRPAGE_OK);
}

static void skipped_values_of_any_shape(void **state)
{
    (void)state;
    assert_int_equal(
        expect_same_page(
            "{'params':{'a':[1,{'b':[[],{}]},'x'],'c':null},'id':'a',"
            "'ext':[{'name':'陈先生','phone':'13800000009'},[1.5e-3,true]],"
            "'remark':{'text':'call back','when':{'d':'2025-10-16'}},"
            "'phone':13800000009,'realPhone':null,'other':'\\u0041\\n',"
            "'nested':[[[[[[[[1]]]]]]]],'duration':3}",
            NULL),
        CDRPAGE_OK);
    /* Unknown members of the envelope and of data too. */
    assert_int_equal(
        expect_same("{'trace':{'id':[1,2]},'code':200,'data':{'page':{'n':1},"
                    "'totalCount':1,'data':[{'id':1}],'extra':[{}]},"
                    "'message':'ok','more':[null,false]}",
                    NULL),
        CDRPAGE_OK);
}

static void keys_in_any_order(void **state)
{
    (void)state;
    assert_int_equal(
        expect_same("{'data':{'totalCount':2,'data':[{'duration':5,'id':'x',"
                    "'callTime':1760576400},{'grade':'AG','id':'y'}]},"
                    "'message':'ok','code':200}",
                    NULL),
        CDRPAGE_OK);
    assert_int_equal(expect_same("{'message':'ok','data':{'data':[{'id':'x'}],"
                                 "'totalCount':'1'},'code':'200'}",
                                 NULL),
                     CDRPAGE_OK);
}

static void unicode_escapes(void **state)
{
    (void)state;
    struct rec_list old = {0}, list = {0};
    struct cdrpage page;
    char *body = json_text("{'code':200,'message':'\\u6210\\u529f','data':{"
                           "'totalCount':1,'data':[{'id':'\\u0031\\u0032',"
                           "'province':'\\u5e7f\\u4e1c','grade':"
                           "'AS1 \\ud83d\\ude00 \\\\ \\/ \\' \\t',"
                           "'\\u0063ity':'\\u6df1\\u5733'}]}}");
    assert_null(readings_differ(body, strlen(body), &old, &list, 0));
    assert_string_equal(rec_text(&list.items[0], REC_ID), "12");
    rec_list_free(&old);
    rec_list_free(&list);
    assert_int_equal(cdrpage_parse(body, strlen(body), &list, &page),
                     CDRPAGE_OK);
    assert_string_equal(page.message, "成功");
    assert_string_equal(rec_text(&list.items[0], REC_ID), "12");
    assert_string_equal(rec_text(&list.items[0], REC_PROVINCE), "广东");
    assert_string_equal(rec_text(&list.items[0], REC_CITY), "深圳");
    assert_string_equal(rec_text(&list.items[0], REC_GRADE),
                        "AS1 😀 \\ / \" \t");
    cdrpage_free(&page);
    rec_list_free(&list);
    free(body);
}

static void empty_missing_and_null_data(void **state)
{
    (void)state;
    struct werr why;
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':0,'data':[]}}", NULL),
        CDRPAGE_OK);
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':0,'data':null}}", NULL),
        CDRPAGE_OK);
    assert_int_equal(expect_same("{'code':200,'data':{'totalCount':0}}", NULL),
                     CDRPAGE_OK);
    assert_int_equal(expect_same("{'code':200,'message':'ok'}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "upstream page has no data object");
    assert_int_equal(expect_same("{'code':200,'data':null}", NULL),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':1,'data':'none'}}", &why),
        CDRPAGE_BAD_PAGE);
    expect_problem(&why, "upstream page field=data is not an array");
    assert_int_equal(expect_same("{'code':200,'data':[{'id':1}]}", NULL),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same("[{'code':200}]", NULL), CDRPAGE_BAD_PAGE);
}

static void refusals(void **state)
{
    (void)state;
    char *body = json_text(
        "{'code':1000002,'message':'token 1234567 expired','data':null}");
    struct rec_list list = {0};
    struct cdrpage page;
    assert_int_equal(cdrpage_parse(body, strlen(body), &list, &page),
                     CDRPAGE_BAD_PAGE);
    assert_true(page.has_code);
    assert_int_equal(page.code, 1000002);
    /* As is: redacting it is the caller's part. */
    assert_string_equal(page.message, "token 1234567 expired");
    assert_true(page.has_data);
    cdrpage_free(&page);
    free(body);
    assert_int_equal(
        expect_same("{'code':'1000001','message':'bad token'}", NULL),
        CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same("{'code':'oops','message':7}", NULL),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same("{'code':{'a':1},'message':[]}", NULL),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(
        expect_same("{'code':400.0,'message':null,'data':{}}", NULL),
        CDRPAGE_BAD_PAGE);
    /* A refusal that still carries a page: the caller drops the records. */
    assert_int_equal(expect_same("{'code':429,'message':'slow down','data':{"
                                 "'totalCount':1,'data':[{'id':'x'}]}}",
                                 NULL),
                     CDRPAGE_OK);
}

static void bad_values_as_rec_parse_reports_them(void **state)
{
    (void)state;
    struct werr why;
    assert_int_equal(expect_same_page("{'id':1,'duration':-5}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=duration value=-5");
    assert_int_equal(expect_same_page("{'duration':3}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "upstream record without id");
    assert_int_equal(
        expect_same_page("{'id':1,'grade':{'a':[1,2.5,1e20,'x\\'y\\n\\u0001'],"
                         "'b':null,'c':true,'d':'long enough to be cut at "
                         "sixty bytes of JSON'}}",
                         &why),
        CDRPAGE_BAD_PAGE);
    expect_problem(
        &why, "field=grade value={\"a\":[1,2.5,1e20,\"x\\\"y\\n\\u0001\"]");
    assert_int_equal(expect_same_page("{'id':[1],'grade':'ok'}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=id value=[1]");
    assert_int_equal(expect_same_page("{'id':1,'taskName':{}}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=TaskName");
    assert_int_equal(expect_same_page("{'id':1,'callTime':'yesterday'}", &why),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same_page("{'id':1,'startTime':'2025-02-30 "
                                      "10:00:00'}",
                                      &why),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same_page("{'id':1,'isCall':2.5}", &why),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same_page("{'id':1,'duration':1e300}", &why),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(expect_same_page("{'id':1},5,{'id':2}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "upstream record is not an object");
    /* The first bad record is the one reported, whatever follows. */
    assert_int_equal(
        expect_same_page("{'id':1},{'id':2,'duration':'x'},{'id':3,"
                         "'duration':-1},[]",
                         &why),
        CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=duration value=\"x\"");
    /* totalCount is judged before the records, wherever it stands. */
    assert_int_equal(expect_same("{'code':200,'data':{'data':[{'id':1,"
                                 "'duration':-1}],'totalCount':'many'}}",
                                 &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=totalCount");
    assert_int_equal(expect_same("{'code':200,'data':{'data':[]}}", &why),
                     CDRPAGE_BAD_PAGE);
    expect_problem(&why, "missing upstream value field=totalCount");
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':1,'data':{'id':1}}}",
                    &why),
        CDRPAGE_BAD_PAGE);
    expect_problem(&why, "field=data is not an array");
}

static void duplicate_keys_the_last_wins(void **state)
{
    (void)state;
    assert_int_equal(
        expect_same("{'code':500,'data':{'totalCount':1,'data':[{'id':'x',"
                    "'duration':-1}]},'code':200,'data':{'totalCount':2,"
                    "'data':[{'id':'y','id':'z','grade':{},'grade':'AG'}],"
                    "'totalCount':3}}",
                    NULL),
        CDRPAGE_OK);
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':1,'data':[{'id':'x'}],"
                    "'data':[5]}}",
                    NULL),
        CDRPAGE_BAD_PAGE);
    assert_int_equal(
        expect_same("{'code':200,'data':{'totalCount':1,'data':[{'id':'x'}]},"
                    "'data':7}",
                    NULL),
        CDRPAGE_BAD_PAGE);
}

/* Not JSON: told apart from a bad page, with a reason that names the byte
 * but never quotes the body, which may hold a customer's number. */
static void expect_not_json(const char *body, size_t len)
{
    struct rec_list list = {0};
    struct rec_list old = {0};
    struct cdrpage page;
    const char *d = readings_differ(body, len, &old, &list, 0);
    if (d != NULL)
        fail_msg("%s differs for %.*s", d, (int)len, body);
    assert_int_equal(cdrpage_parse(body, len, &list, &page), CDRPAGE_NOT_JSON);
    expect_problem(&page.problem, " at byte ");
    assert_null(strstr(page.problem.msg, "13800"));
    assert_int_equal(list.count, 0);
    cdrpage_free(&page);
    rec_list_free(&old);
    rec_list_free(&list);
}

static void not_json(void **state)
{
    (void)state;
    char *body = json_text(REALISTIC_PAGE);
    size_t len = strlen(body);
    for (size_t cut = 0; cut < len; cut += 37)
        expect_not_json(body, cut);
    expect_not_json(body, len - 1);
    free(body);
    static const char *const bad[] = {
        "{\"code\":200,\"data\":{\"phone\":\"13800000009\"x}}",
        "{\"code\":200}}",
        "{\"code\":200} 13800000009",
        "200",
        "\"13800000009\"",
        "",
        " ",
        "{\"code\":\f200}",
        "{\"code\":200,\v\"data\":null}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\\ud800\"}",
        "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"x\\ud83d\"}",
        "{\"a\\u0000\":1}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"\xf5\x80\x80\x80\":1}",
        "{\"a\":99999999999999999999}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":1e400}",
        "{\"a\":-1e400}",
        "{\"a\":[1,]}",
        "{'a':1}",
        "{\"a\":NaN}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_not_json(bad[i], strlen(bad[i]));
    /* What both take. */
    assert_int_equal(expect_same("{'a':1e-400,'b':'\\ud800\\udc00','c':"
                                 "-9223372036854775808,'d':'\xf4\x8f\xbf\xbf'}",
                                 NULL),
                     CDRPAGE_BAD_PAGE);
}

/* Depth: envelope, data, records, a record, then `params` nested. */
static char *nested_body(int depth)
{
    struct buf b = {0};
    assert_true(buf_puts(&b, "{\"code\":200,\"data\":{\"totalCount\":1,"
                             "\"data\":[{\"id\":1,\"params\":"));
    for (int i = 4; i < depth; i++)
        assert_true(buf_puts(&b, i % 2 ? "[" : "{\"k\":"));
    assert_true(buf_puts(&b, "0"));
    for (int i = depth - 1; i >= 4; i--)
        assert_true(buf_puts(&b, i % 2 ? "]" : "}"));
    assert_true(buf_puts(&b, "}]}}"));
    return b.data;
}

static void nesting_is_limited(void **state)
{
    (void)state;
    char *fits = nested_body(CDRPAGE_MAX_DEPTH);
    char *deeper = nested_body(CDRPAGE_MAX_DEPTH + 1);
    struct rec_list old = {0}, list = {0};
    struct cdrpage page;
    assert_null(readings_differ(fits, strlen(fits), &old, &list, 0));
    rec_list_free(&old);
    rec_list_free(&list);
    assert_int_equal(cdrpage_parse(fits, strlen(fits), &list, &page),
                     CDRPAGE_OK);
    assert_int_equal(list.count, 1);
    cdrpage_free(&page);
    rec_list_free(&list);
    assert_int_equal(cdrpage_parse(deeper, strlen(deeper), &list, &page),
                     CDRPAGE_NOT_JSON);
    expect_problem(&page.problem, "nested more than 64 deep at byte");
    cdrpage_free(&page);
    rec_list_free(&list);
    /* The one difference from jansson, which allows 2048 levels. */
    json_error_t jerr;
    json_t *root = json_loads(deeper, 0, &jerr);
    assert_non_null(root);
    json_decref(root);
    free(fits);
    free(deeper);
}

/* A failed page leaves the list as it was; a good one continues it. */
static void list_is_kept_on_failure(void **state)
{
    (void)state;
    char *first = json_text(REALISTIC_PAGE);
    char *bad = json_text("{'code':200,'data':{'totalCount':2,'data':["
                          "{'id':'a'},{'id':'b','duration':-3}]}}");
    struct rec_list old = {0}, list = {0};
    assert_null(readings_differ(first, strlen(first), &old, &list, 0));
    struct cdrpage page;
    assert_int_equal(cdrpage_parse(bad, strlen(bad), &list, &page),
                     CDRPAGE_BAD_PAGE);
    assert_int_equal(list.count, 4);
    cdrpage_free(&page);
    assert_null(readings_differ(first, strlen(first), &old, &list, 4));
    assert_int_equal(list.count, 8);
    assert_int_equal(list.items[7].seq, 7);
    rec_list_free(&old);
    rec_list_free(&list);
    free(first);
    free(bad);
}

/* Reals in error reports are written as jansson writes them. */
static void reals_written_like_jansson(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof(d));
        if (i % 3 == 0)
            d = (double)(int64_t)(x >> (x % 50)) / (double)(1 << (i % 20));
        json_t *real = json_real(d);
        if (real == NULL) /* NaN and infinities are no JSON */
            continue;
        char *want = json_dumps(real, JSON_ENCODE_ANY | JSON_COMPACT);
        char got[40];
        jf_format_real(d, got, sizeof(got));
        if (strcmp(want, got) != 0)
            fail_msg("%s written as %s", want, got);
        free(want);
        json_decref(real);
    }
}

/* Random bodies: pages made of the members a record may have and values
 * of every kind, in any order, some then damaged at random. The two
 * readers must agree on every one. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x >> 11;
}

#define PICK(x, list) (list)[next_random(x) % (sizeof(list) / sizeof(*(list)))]

static const char *const members[] = {
    "id",       "callTime", "startTime",    "endTime",  "taskId",
    "TaskName", "taskName", "userId",       "deviceId", "deviceName",
    "phone",    "params",   "ccId",         "isFollow", "companyId",
    "duration", "isCall",   "hangupReason", "grade",    "province",
    "city",     "audio",    "remark",       "i\\u0064", "ext",
};

static const char *const values[] = {
    "1",
    "\"a\"",
    "null",
    "\"\"",
    "\" \"",
    "0",
    "-1",
    "35",
    "\"35\"",
    "35.0",
    "35.5",
    "1e3",
    "true",
    "false",
    "{}",
    "[]",
    "{\"a\":[1,\"x\\n\",2.5,{}]}",
    "\"2025-10-16 09:00:01\"",
    "\"2025-02-30 10:00:00\"",
    "1760576400",
    "\"1760576400\"",
    "\"\\u6210\\ud83d\\ude00\"",
    "86400",
    "86401",
    "-0",
    "9007199254740993",
    "\"12abc\"",
    "\"\\t\"",
    "0.0",
    "-5e-324",
    "\" -7 \"",
    "\"\xe6\x88\x90\"",
    "-0.0",
    "\"1970-01-01 08:00:00\"",
    "[1,[2,[3]]]",
    "1.7976931348623157e308",
};

static void put(struct buf *b, const char *s)
{
    assert_true(buf_puts(b, s));
}

static void random_record(struct buf *b, uint64_t *x)
{
    put(b, "{");
    if (next_random(x) % 8 != 0) {
        put(b, "\"id\":");
        put(b, next_random(x) % 2 ? "\"r1\"" : PICK(x, values));
        put(b, ",");
    }
    for (int n = (int)(next_random(x) % 10); n > 0; n--) {
        put(b, "\"");
        put(b, PICK(x, members));
        put(b, "\":");
        put(b, PICK(x, values));
        put(b, ",");
    }
    put(b, "\"end\":0}");
}

static void random_page(struct buf *b, uint64_t *x)
{
    static const char *const codes[] = {"200",     "\"200\"", "200.0",
                                        "1000002", "null",    "\"x\""};
    struct buf rows = {0};
    put(&rows, "\"data\":[");
    for (int n = (int)(next_random(x) % 5); n > 0; n--) {
        random_record(&rows, x);
        put(&rows, n > 1 ? "," : "");
    }
    put(&rows, "]");
    const char *total = next_random(x) % 4 ? "\"totalCount\":9"
                                           : "\"totalCount\":"
                                             "\"9\"";
    bool total_first = next_random(x) % 2;
    put(b, "{");
    bool code_last = next_random(x) % 2;
    if (!code_last) {
        put(b, "\"code\":");
        put(b, PICK(x, codes));
        put(b, ",\"message\":\"ok\",");
    }
    put(b, "\"data\":{");
    put(b, total_first ? total : rows.data);
    put(b, ",\"page\":{\"n\":[1]},");
    put(b, total_first ? rows.data : total);
    put(b, "}");
    if (code_last) {
        put(b, ",\"message\":");
        put(b, PICK(x, values));
        put(b, ",\"code\":");
        put(b, PICK(x, codes));
    }
    put(b, "}");
    buf_free(&rows);
}

static const char *const snippets[] = {
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "1e400",
    "99999999999999999999",
    "\"\xed\xa0\x80\"",
    "\"\xc0\x80\"",
    "null",
    "{}",
    "[]",
    "\"x\"",
    "1.5",
    "\"\"",
    "\f",
    ",",
    ":",
    "\"id\"",
};

/* One to three random edits: a byte changed or dropped, a snippet
 * inserted, or the end cut off. */
static void damage(struct buf *b, uint64_t *x)
{
    static const char bytes[] = "\"{}[],: 0123456789-+.eEtfnu\\\xff\xc3";
    for (int n = 1 + (int)(next_random(x) % 3); n > 0 && b->len > 0; n--) {
        size_t at = next_random(x) % b->len;
        switch (next_random(x) % 5) {
        case 0:
            b->data[at] = PICK(x, bytes);
            break;
        case 1:
            memmove(b->data + at, b->data + at + 1, b->len - at);
            b->len--;
            break;
        case 2:
        case 3: {
            const char *s = PICK(x, snippets);
            size_t sl = strlen(s), len = b->len;
            assert_true(buf_append(b, s, sl));
            memmove(b->data + at + sl, b->data + at, len - at);
            memcpy(b->data + at, s, sl);
            break;
        }
        default:
            b->len = at;
        }
    }
}

static void random_pages_read_alike(void **state)
{
    (void)state;
    char *realistic = json_text(REALISTIC_PAGE);
    struct buf body = {0};
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    const char *d = NULL;
    int outcomes[4] = {0};
    /* The old reader logs each bad record: keep the run quiet. */
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    for (int i = 0; i < 20000 && d == NULL; i++) {
        buf_reset(&body);
        if (i % 4 == 0)
            put(&body, realistic);
        else
            random_page(&body, &x);
        if (i % 3 == 0)
            damage(&body, &x);
        struct rec_list a = {0}, b = {0};
        struct cdrpage page;
        d = readings_differ(body.data, body.len, &a, &b, 0);
        outcomes[cdrpage_parse(body.data, body.len, &a, &page)]++;
        cdrpage_free(&page);
        rec_list_free(&a);
        rec_list_free(&b);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    if (d != NULL)
        fail_msg("%s differs for %.*s", d, (int)body.len, body.data);
    /* Enough of each outcome for the comparison to mean something. */
    printf("random pages: %d good, %d bad, %d not JSON\n", outcomes[0],
           outcomes[1], outcomes[2]);
    assert_true(outcomes[CDRPAGE_OK] > 2000);
    assert_true(outcomes[CDRPAGE_BAD_PAGE] > 2000);
    assert_true(outcomes[CDRPAGE_NOT_JSON] > 2000);
    buf_free(&body);
    free(realistic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(realistic_page),
        cmocka_unit_test(numbers_as_strings_and_reals),
        cmocka_unit_test(null_and_empty_values),
        cmocka_unit_test(skipped_values_of_any_shape),
        cmocka_unit_test(keys_in_any_order),
        cmocka_unit_test(unicode_escapes),
        cmocka_unit_test(empty_missing_and_null_data),
        cmocka_unit_test(refusals),
        cmocka_unit_test(bad_values_as_rec_parse_reports_them),
        cmocka_unit_test(duplicate_keys_the_last_wins),
        cmocka_unit_test(not_json),
        cmocka_unit_test(nesting_is_limited),
        cmocka_unit_test(list_is_kept_on_failure),
        cmocka_unit_test(reals_written_like_jansson),
        cmocka_unit_test(random_pages_read_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
