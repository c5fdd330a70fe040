import { demoCopyChunks, idBatches, idsOf, missingIds, rangeSize } from '../../common/demo-load';

describe('demo load plan', () => {
  test('batches cover 1..rows in order, the last one short', () => {
    expect(idBatches(25, 10)).toEqual([
      { from: 1, to: 10 },
      { from: 11, to: 20 },
      { from: 21, to: 25 },
    ]);
    expect(idBatches(20, 10).map(rangeSize)).toEqual([10, 10]);
  });

  test("a resumed load starts at the heartbeat's next id; nothing left gives no batch", () => {
    expect(idBatches(25, 10, 21)).toEqual([{ from: 21, to: 25 }]);
    expect(idBatches(25, 10, 26)).toEqual([]);
    expect(idBatches(0, 10)).toEqual([]);
  });

  test('a batch size that is not a positive integer is refused', () => {
    expect(() => idBatches(10, 0)).toThrow(/positive integer/);
    expect(() => idBatches(10, 2.5)).toThrow(/positive integer/);
  });

  test('missing ids: the complement within the range, ids outside it ignored', () => {
    expect(missingIds({ from: 5, to: 10 }, [5, 7, 10, 42])).toEqual([6, 8, 9]);
    expect(missingIds({ from: 1, to: 3 }, [])).toEqual([1, 2, 3]);
    expect(missingIds({ from: 1, to: 3 }, [1, 2, 3])).toEqual([]);
  });

  test('COPY text: one "id TAB demo event id" line per id, chunked, nothing lost at chunk edges', () => {
    const chunks = [...demoCopyChunks(idsOf({ from: 1, to: 5 }), 2)];
    expect(chunks).toEqual([
      '1\tdemo event 1\n2\tdemo event 2\n',
      '3\tdemo event 3\n4\tdemo event 4\n',
      '5\tdemo event 5\n',
    ]);
    expect([...demoCopyChunks([])]).toEqual([]);
  });
});
