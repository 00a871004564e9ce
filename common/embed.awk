# Turns text files into one C source holding them as string literals, so
# the programs carry their SQL migrations and the dashboard page in memory.
# Usage: awk -v header=H -v array=NAME -f common/embed.awk FILE...
# Each file becomes {version, "file name", "contents"}; version is the
# number the file name starts with (0 when none).
BEGIN {
    printf "/* Generated from %s by common/embed.awk: do not edit. */\n",
        ARGV[1]
    printf "#include \"%s\"\n\n", header
    printf "const struct cs_embedded %s[] = {\n", array
    open = 0
}
FNR == 1 {
    if (open)
        print "    },"
    name = FILENAME
    sub(/.*\//, "", name)
    version = name + 0
    printf "    {\n        %d,\n        \"%s\",\n", version, name
    open = 1
}
{
    line = $0
    gsub(/\\/, "&&", line)
    gsub(/"/, "\\\"", line)
    gsub(/\?/, "\\?", line)
    printf "        \"%s\\n\"\n", line
}
END {
    if (open)
        print "    },"
    print "    {0, NULL, NULL},"
    print "};"
}
