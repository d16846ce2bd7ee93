#include "buildid.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

struct find {
    uintptr_t addr;
    char *hex;
    size_t cap;
    bool found;
};

static bool loaded(const struct dl_phdr_info *info, uintptr_t start, size_t len)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t seg = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && start >= seg && start - seg <= p->p_memsz &&
            len <= p->p_memsz - (start - seg))
            return true;
    }
    return false;
}

static void to_hex(const unsigned char *id, size_t n, char *hex, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;
    for (; i < n && 2 * i + 2 < cap; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 15];
    }
    hex[2 * i] = 0;
}

/* A note segment that is not inside a loaded one is not in memory: only
 * loaded notes are read. Notes are 4-aligned, or 8-aligned in a segment
 * aligned so (.note.gnu.property). */
static bool from_notes(const struct dl_phdr_info *info, const ElfW(Phdr) *p, struct find *f)
{
    uintptr_t at = info->dlpi_addr + p->p_vaddr, end = at + p->p_memsz;
    size_t align = p->p_align == 8 ? 8 : 4;
    if (p->p_memsz == 0 || !loaded(info, at, p->p_memsz))
        return false;
    while (end - at >= sizeof(ElfW(Nhdr))) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)at;
        size_t name = (n->n_namesz + align - 1) & ~(align - 1);
        size_t desc = (n->n_descsz + align - 1) & ~(align - 1);
        at += sizeof *n;
        if (name > end - at || desc > end - at - name)
            return false;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
            memcmp((const void *)at, "GNU", 4) == 0 && n->n_descsz > 0) {
            to_hex((const unsigned char *)(at + name), n->n_descsz, f->hex, f->cap);
            return true;
        }
        at += name + desc;
    }
    return false;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct find *f = arg;
    if (!loaded(info, f->addr, 1))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && !f->found; i++)
        if (info->dlpi_phdr[i].p_type == PT_NOTE)
            f->found = from_notes(info, &info->dlpi_phdr[i], f);
    return 1; /* the object that holds addr: no other can */
}

bool sh_build_id(const void *addr, char *hex, size_t cap)
{
    if (!addr || cap < 3)
        return false;
    struct find f = { (uintptr_t)addr, hex, cap, false };
    dl_iterate_phdr(visit, &f);
    return f.found;
}
