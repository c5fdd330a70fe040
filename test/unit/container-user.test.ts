import { ownerOf } from '../../lib/docker/container-user';

const PASSWD = ['root:x:0:0:root:/root:/bin/bash', 'etcd:x:100:101::/var/lib/etcd:/usr/sbin/nologin', ''].join('\n');
const GROUP = ['root:x:0:', 'etcd:x:101:', 'ssl-cert:x:110:postgres', ''].join('\n');

describe('ownerOf (the numeric owner Docker runs Config.User as)', () => {
  test('no user: root', () => {
    expect(ownerOf('', PASSWD, GROUP)).toEqual({ uid: 0, gid: 0 });
  });
  test("a name: its passwd entry's uid and group", () => {
    expect(ownerOf('etcd', PASSWD, GROUP)).toEqual({ uid: 100, gid: 101 });
  });
  test('a numeric uid: its passwd group, else 0', () => {
    expect(ownerOf('100', PASSWD, GROUP)).toEqual({ uid: 100, gid: 101 });
    expect(ownerOf('4242', PASSWD, GROUP)).toEqual({ uid: 4242, gid: 0 });
  });
  test('user:group, by number or by name', () => {
    expect(ownerOf('etcd:0', PASSWD, GROUP)).toEqual({ uid: 100, gid: 0 });
    expect(ownerOf('4242:4243', '', '')).toEqual({ uid: 4242, gid: 4243 });
    expect(ownerOf('etcd:ssl-cert', PASSWD, GROUP)).toEqual({ uid: 100, gid: 110 });
  });
  test('a name the image does not know: an error naming it', () => {
    expect(() => ownerOf('nobody-here', PASSWD, GROUP)).toThrow(/nobody-here/);
    expect(() => ownerOf('etcd:nogroup', PASSWD, GROUP)).toThrow(/nogroup/);
  });
});
