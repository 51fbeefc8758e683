#!/usr/bin/env python3
"""`mirroring key ...` without a running supervisor: add (generated and
given keys), list (masked, --show, --json), disable/enable, regen, rm;
file-declared keys cannot be removed; a key equal to a stream's
backup_key is refused without showing it; unknown names fail; every
sub-command has --help; the database and state dir are private."""

import json
import os
import re
import stat

import harness

SUBCOMMANDS = [['run'], ['check'], ['status'], ['key'], ['key', 'add'],
               ['key', 'list'], ['key', 'enable'], ['key', 'disable'],
               ['key', 'rm'], ['key', 'regen']]


def key_list(t, *flags):
    r = t.cli('key', 'list', '--json', *flags)
    t.check_eq(r.returncode, 0, ' '.join(('key list --json',) + flags) +
               ' exit status')
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        t.fail(f'key list --json is not JSON: {r.stdout!r}')
    t.check(isinstance(doc, list), 'key list --json is an array')
    return {k.get('name'): k for k in doc}


def body(t):
    file_key = harness.new_key()
    given = harness.new_key('given')
    backup = harness.new_key('backup')
    t.write_config({'studio': file_key,
                    'stage': f'key: {harness.new_key("stage")}\n'
                             f'backup_key: {backup}'})

    r = t.cli('status', '--json')
    t.check(r.returncode == 1 and 'not running' in r.stdout + r.stderr,
            'status without a supervisor: exit 1, "not running"',
            f'exit {r.returncode} {r.stdout!r} {r.stderr!r}')

    r = t.cli('key', 'add', 'guest')
    t.check_eq(r.returncode, 0, 'key add guest exit status')
    guest = r.stdout.split('\n')[0].strip()
    t.check(len(guest) >= 24 and re.fullmatch(r'[A-Za-z0-9_-]+', guest),
            f'generated key is >= 24 URL-safe chars ({len(guest)})')
    r = t.cli('key', 'add', 'given', '--key', given, '--note', 'from a test')
    t.check(r.returncode == 0 and r.stdout.split('\n')[0].strip() == given,
            'key add --key prints the given key', r.stdout + r.stderr)
    r = t.cli('key', 'add', 'off', '--disabled')
    t.check_eq(r.returncode, 0, 'key add --disabled exit status')
    r = t.cli('key', 'add', 'guest')
    t.check_eq(r.returncode, 1, 'key add of a taken name exit status')
    r = t.cli('key', 'add', 'shorty', '--key', 'abc')
    t.check_eq(r.returncode, 1, 'key add with a 3-char key exit status')
    r = t.cli('key', 'add', 'dup', '--key', given)
    t.check_eq(r.returncode, 1, 'key add of a key already used exit status')
    r = t.cli('key', 'add', 'thief', '--key', backup)
    t.check(r.returncode == 1 and 'backup key of stream stage' in r.stderr
            and backup not in r.stdout + r.stderr,
            'key add of a stream\'s backup key: exit 1, names the stream, '
            'does not echo the key', f'exit {r.returncode} {r.stderr!r}')

    r = t.cli('key', 'list')
    t.check_eq(r.returncode, 0, 'key list exit status')
    for name, k in (('studio', file_key), ('guest', guest), ('given', given)):
        t.check(name in r.stdout and harness.mask(k) in r.stdout,
                f'key list shows {name} masked')
        t.check(k not in r.stdout, f'key list hides the raw key of {name}')
    r = t.cli('key', 'list', '--show')
    for name, k in (('studio', file_key), ('guest', guest), ('given', given)):
        t.check(k in r.stdout, f'key list --show shows the key of {name}')

    keys = key_list(t)
    t.check_eq(sorted(keys), ['given', 'guest', 'off', 'stage', 'studio'],
               'key list --json names')
    for k in keys.values():
        t.check_eq(sorted(k), ['enabled', 'key', 'last_active', 'name',
                               'note', 'source'], f'{k.get("name")} fields')
    t.check_eq(keys['guest']['key'], harness.mask(guest),
               'key list --json key masked')
    t.check_eq(keys['given']['note'], 'from a test', 'given note')
    t.check_eq(keys['off']['enabled'], False, 'off enabled')
    t.check_eq(keys['guest']['enabled'], True, 'guest enabled')
    t.check(keys['studio']['source'] != keys['guest']['source'],
            f'sources differ: studio {keys["studio"]["source"]!r}, '
            f'guest {keys["guest"]["source"]!r}')
    keys = key_list(t, '--show')
    t.check_eq(keys['guest']['key'], guest, 'key list --json --show key')
    t.check_eq(keys['studio']['key'], file_key, 'studio --show key')

    for verb, want in (('disable', False), ('enable', True)):
        r = t.cli('key', verb, 'guest')
        t.check_eq(r.returncode, 0, f'key {verb} guest exit status')
        t.check_eq(key_list(t)['guest']['enabled'], want,
                   f'guest enabled after {verb}')
    r = t.cli('key', 'disable', 'studio')
    t.check_eq(r.returncode, 0, 'key disable of a file key exit status')
    t.check_eq(key_list(t)['studio']['enabled'], False,
               'studio disabled')
    t.cli('key', 'enable', 'studio')

    r = t.cli('key', 'regen', 'guest')
    t.check_eq(r.returncode, 0, 'key regen guest exit status')
    new = key_list(t, '--show')['guest']['key']
    t.check(new != guest and len(new) >= 24, 'regen changed the key')
    if r.stdout.strip():
        t.check_eq(r.stdout.split('\n')[0].strip(), new,
                   'regen printed the new key')

    r = t.cli('key', 'rm', 'guest')
    t.check_eq(r.returncode, 0, 'key rm guest exit status')
    t.check('guest' not in key_list(t), 'guest gone from the list')
    r = t.cli('key', 'rm', 'studio')
    t.check_eq(r.returncode, 1, 'key rm of a file-declared key exit status')
    t.check(r.stderr.strip() != '', f'it says why: {r.stderr.strip()!r}')
    t.check('studio' in key_list(t), 'studio still listed')
    for verb in ('enable', 'disable', 'rm', 'regen'):
        r = t.cli('key', verb, 'nosuch')
        t.check_eq(r.returncode, 1, f'key {verb} nosuch exit status')

    for sub in SUBCOMMANDS:
        r = t.cli(*sub, '--help')
        t.check(r.returncode == 0 and (r.stdout + r.stderr).strip(),
                f'{" ".join(sub)} --help: exit 0 with text',
                f'exit {r.returncode}')
    r = t.cli('--help')
    t.check_eq(r.returncode, 0, 'mirroring --help exit status')

    db = os.path.join(t.state_dir, 'mirroring.db')
    t.check_eq(oct(stat.S_IMODE(os.stat(t.state_dir).st_mode)), '0o700',
               'state dir mode')
    t.check_eq(oct(stat.S_IMODE(os.stat(db).st_mode)), '0o600',
               'mirroring.db mode')
    for extra in ('-wal', '-shm'):
        if os.path.exists(db + extra):
            t.check_eq(oct(stat.S_IMODE(os.stat(db + extra).st_mode)),
                       '0o600', f'mirroring.db{extra} mode')


harness.run('cli_keys', body, tools=())
