#!/usr/bin/env python3
"""`mirroring relay ...` without a running supervisor: add (to a file
stream and to a CLI stream), list (masked, --show, --json, one stream),
disable/enable, rm; relays declared in the YAML cannot be added over,
changed or removed; bad names, URLs, profiles and streams fail; every
sub-command has --help; no destination key shows without --show."""

import json

import harness

SUBCOMMANDS = [['relay'], ['relay', 'add'], ['relay', 'list'],
               ['relay', 'enable'], ['relay', 'disable'], ['relay', 'rm']]
FIELDS = ['enabled', 'name', 'profile', 'source', 'stream', 'url']
OUTPUTS = []        # (command, stdout + stderr) of every run without --show


def relay_list(t, *args):
    r = t.cli('relay', 'list', '--json', *args)
    if '--show' not in args:
        OUTPUTS.append(('relay list --json ' + ' '.join(args),
                        r.stdout + r.stderr))
    t.check_eq(r.returncode, 0, ' '.join(('relay list --json',) + args) +
               ' exit status')
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        t.fail(f'relay list --json is not JSON: {r.stdout!r}')
    t.check(isinstance(doc, list), 'relay list --json is an array')
    return {(x.get('stream'), x.get('name')): x for x in doc}


def body(t):
    file_key = harness.new_key()
    file_dest = harness.new_key('filedest')
    yt_dest = harness.new_key('ytdest')
    tw_dest = harness.new_key('twdest')
    file_url = f'rtmp://127.0.0.1:1/live/{file_dest}'
    yt_url = f'rtmp://a.rtmp.youtube.com/live2/{yt_dest}'
    tw_url = f'rtmps://live.twitch.tv/app/{tw_dest}'
    secrets = (file_dest, yt_dest, tw_dest)
    t.write_config({'studio': f'''key: {file_key}
relays:
  twitch: {{ url: "{file_url}" }}
'''})

    def cli(*args):
        r = t.cli(*args)
        if '--show' not in args:
            OUTPUTS.append((' '.join(args), r.stdout + r.stderr))
        return r

    r = cli('key', 'add', 'guest')
    t.check_eq(r.returncode, 0, 'key add guest exit status')

    r = cli('relay', 'add', 'studio', 'yt', yt_url)
    t.check_eq(r.returncode, 0, 'relay add studio yt exit status')
    r = cli('relay', 'add', 'guest', 'tw', tw_url, '--profile', 'copy',
            '--disabled')
    t.check_eq(r.returncode, 0, 'relay add guest tw --disabled exit status')
    r = cli('relay', 'add', 'guest', 'rec', 'file:/tmp/guest.mkv')
    t.check_eq(r.returncode, 0, 'relay add of a file: URL exit status')

    for args, what in (
            (('studio', 'twitch', yt_url), 'a name the YAML declares'),
            (('studio', 'yt', yt_url), 'a name taken'),
            (('nosuch', 'yt', yt_url), 'a stream without a key'),
            (('studio', 'bad name', yt_url), 'a bad name'),
            (('studio', 'x', f'http://h/live/{yt_dest}'), 'an http URL'),
            (('studio', 'x', 'rtmp://'), 'an empty rtmp URL'),
            (('studio', 'x', yt_url, '--profile', 'h264-720p'),
             'an unknown profile')):
        r = cli('relay', 'add', *args)
        t.check_eq(r.returncode, 1, f'relay add of {what} exit status')
        t.check(r.stderr.startswith('mirroring relay: '),
                f'relay add of {what} says why: {r.stderr.strip()!r}')
    r = cli('relay', 'add', 'studio', 'twitch', yt_url)
    t.check(f'is declared in {t.conf}; change it there' in r.stderr,
            'YAML clash message', r.stderr)
    r = cli('relay', 'add', 'nosuch', 'yt', yt_url)
    t.check('stream nosuch has no key' in r.stderr, 'no key message',
            r.stderr)
    r = cli('relay', 'add', 'studio', 'x', yt_url, '--profile', 'fancy')
    t.check('unknown profile' in r.stderr, 'unknown profile message',
            r.stderr)
    r = cli('relay', 'add', 'studio', 'x')
    t.check_eq(r.returncode, 2, 'relay add without URL exit status')
    r = cli('relay', 'list', '--disabled')
    t.check_eq(r.returncode, 2, 'relay list --disabled exit status')
    r = cli('relay', 'frob')
    t.check_eq(r.returncode, 2, 'relay frob exit status')

    r = cli('relay', 'list')
    t.check_eq(r.returncode, 0, 'relay list exit status')
    lines = r.stdout.strip('\n').split('\n')
    t.check_eq(lines[0].split(), ['STREAM', 'NAME', 'ENABLED', 'SOURCE',
                                  'PROFILE', 'URL'], 'relay list header')
    t.check_eq([l.split()[:2] for l in lines[1:]],
               [['guest', 'rec'], ['guest', 'tw'], ['studio', 'twitch'],
                ['studio', 'yt']], 'relay list rows, by stream and name')
    for url, dest in ((file_url, file_dest), (yt_url, yt_dest),
                      (tw_url, tw_dest)):
        masked = url[:-len(dest)] + harness.mask(dest)
        t.check(masked in r.stdout, f'relay list shows {masked}')
    r = t.cli('relay', 'list', '--show')
    t.check_eq(r.returncode, 0, 'relay list --show exit status')
    for url in (file_url, yt_url, tw_url):
        t.check(url in r.stdout, f'relay list --show shows {url}')

    relays = relay_list(t)
    t.check_eq(sorted(relays), [('guest', 'rec'), ('guest', 'tw'),
                                ('studio', 'twitch'), ('studio', 'yt')],
               'relay list --json relays')
    for x in relays.values():
        t.check_eq(sorted(x), FIELDS, f'{x.get("name")} fields')
    t.check_eq(relays['studio', 'twitch']['source'], 'file', 'twitch source')
    t.check_eq(relays['studio', 'yt']['source'], 'cli', 'yt source')
    t.check_eq(relays['guest', 'tw']['enabled'], False, 'tw disabled')
    t.check_eq(relays['studio', 'yt']['enabled'], True, 'yt enabled')
    t.check_eq(relays['guest', 'tw']['profile'], 'copy', 'tw profile')
    t.check_eq(relays['studio', 'yt']['url'],
               yt_url[:-len(yt_dest)] + harness.mask(yt_dest),
               'relay list --json url masked')
    t.check_eq(relays['guest', 'rec']['url'], 'file:/tmp/guest.mkv',
               'a file: URL unchanged')
    shown = relay_list(t, '--show')
    t.check_eq(shown['studio', 'yt']['url'], yt_url, '--json --show url')
    t.check_eq(shown['studio', 'twitch']['url'], file_url,
               '--json --show file relay url')
    one = relay_list(t, 'guest')
    t.check_eq(sorted(one), [('guest', 'rec'), ('guest', 'tw')],
               'relay list guest')

    for verb, want in (('enable', True), ('disable', False)):
        r = cli('relay', verb, 'guest', 'tw')
        t.check_eq(r.returncode, 0, f'relay {verb} guest tw exit status')
        t.check_eq(relay_list(t)['guest', 'tw']['enabled'], want,
                   f'tw enabled after {verb}')
    for verb in ('enable', 'disable', 'rm'):
        r = cli('relay', verb, 'studio', 'twitch')
        t.check_eq(r.returncode, 1, f'relay {verb} of a file relay exit '
                   'status')
        t.check(f'is declared in {t.conf}' in r.stderr,
                f'relay {verb} of a file relay says why: '
                f'{r.stderr.strip()!r}')
        r = cli('relay', verb, 'studio', 'nosuch')
        t.check_eq(r.returncode, 1, f'relay {verb} nosuch exit status')
    t.check_eq(relay_list(t)['studio', 'twitch']['enabled'], True,
               'twitch untouched')

    r = cli('relay', 'rm', 'studio', 'yt')
    t.check_eq(r.returncode, 0, 'relay rm studio yt exit status')
    t.check(('studio', 'yt') not in relay_list(t), 'yt gone from the list')

    for sub in SUBCOMMANDS:
        r = t.cli(*sub, '--help')
        t.check(r.returncode == 0 and (r.stdout + r.stderr).strip(),
                f'{" ".join(sub)} --help: exit 0 with text',
                f'exit {r.returncode}')
    r = t.cli('--help')
    t.check('relay' in r.stdout, 'mirroring --help lists relay')

    t.check(len(OUTPUTS) > 30, f'{len(OUTPUTS)} outputs to search')
    for what, out in OUTPUTS:
        for s in secrets:
            t.check(s not in out, f'`{what}` never shows a destination key',
                    soft=True)


harness.run('cli_relays', body, tools=())
