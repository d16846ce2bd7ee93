/* A library linked without a build-id (tests/unit/meson.build). */
int sh_test_nobuildid(void);
__attribute__((visibility("default"))) int sh_test_nobuildid(void)
{
    return 7;
}
