namespace ActorLab.Model.Qa;

/// <summary>
/// Byte-level BPE training (the algorithm of HF `BpeTrainer`): count pre-token frequencies, start from the 256
/// byte symbols, then repeatedly merge the most frequent adjacent pair (ties: smallest (left id, right id),
/// so training is deterministic) until the vocabulary is full or no pair occurs twice.
/// Pair counts are updated incrementally: only words containing the merged pair are touched, and a lazy max-heap
/// gives the next best pair, so training on ~100k distinct pre-tokens takes seconds, not minutes.
/// </summary>
internal static class BpeTrainer
{
    /// <param name="wordCounts">Pre-tokens (plain text) and how often each occurs.</param>
    /// <param name="specialTokens">Placed first in the vocabulary (ids 0..k-1).</param>
    /// <returns>Vocabulary (id order, byte-level strings) and merges (in rank order).</returns>
    public static (List<string> Vocab, List<(string Left, string Right)> Merges) Train(
        IReadOnlyDictionary<string, long> wordCounts, IReadOnlyList<string> specialTokens, int vocabSize)
    {
        var vocab = new List<string>(vocabSize);
        vocab.AddRange(specialTokens);
        int byteBase = vocab.Count;
        for (int b = 0; b < 256; b++) vocab.Add(ByteLevel.ByteToChar[b].ToString());
        var merges = new List<(string, string)>();

        // Words in a fixed (ordinal) order so that everything below is independent of dictionary order.
        var keys = wordCounts.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        var words = new List<int>[keys.Length];
        var counts = new long[keys.Length];
        for (int w = 0; w < keys.Length; w++)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(keys[w]);
            var syms = new List<int>(bytes.Length);
            foreach (var b in bytes) syms.Add(byteBase + b);
            words[w] = syms;
            counts[w] = wordCounts[keys[w]];
        }

        var pairCount = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;

        void AddPairs(int w, int sign)
        {
            var s = words[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                long k = Key(s[i], s[i + 1]);
                pairCount[k] = pairCount.GetValueOrDefault(k) + sign * counts[w];
                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(k, out var set)) pairWords[k] = set = new HashSet<int>();
                    set.Add(w);
                }
            }
        }
        for (int w = 0; w < words.Length; w++) AddPairs(w, +1);

        // Max-heap on (count desc, key asc); entries go stale when counts change and are skipped on pop.
        var heap = new PriorityQueue<long, (long NegCount, long Key)>();
        foreach (var (k, c) in pairCount) heap.Enqueue(k, (-c, k));

        var touched = new HashSet<long>();
        while (vocab.Count < vocabSize && heap.TryDequeue(out var best, out var prio))
        {
            long current = pairCount.GetValueOrDefault(best);
            if (current != -prio.NegCount) continue; // stale
            if (current < 2) break;                 // a merge seen once teaches nothing

            int left = (int)(best >> 32), right = (int)(best & 0xffffffff);
            int merged = vocab.Count;
            vocab.Add(vocab[left] + vocab[right]);
            merges.Add((vocab[left], vocab[right]));

            touched.Clear();
            var affected = pairWords[best].ToArray();
            Array.Sort(affected);
            foreach (var w in affected)
            {
                var s = words[w];
                bool has = false;
                for (int i = 0; i + 1 < s.Count; i++)
                    if (s[i] == left && s[i + 1] == right) { has = true; break; }
                if (!has) continue;
                // Remove this word's pair contributions, merge, add them back: simple and exact for short words.
                for (int i = 0; i + 1 < s.Count; i++) touched.Add(Key(s[i], s[i + 1]));
                AddPairs(w, -1);
                for (int i = 0; i + 1 < s.Count; i++)
                    if (s[i] == left && s[i + 1] == right) { s[i] = merged; s.RemoveAt(i + 1); }
                AddPairs(w, +1);
                for (int i = 0; i + 1 < s.Count; i++) touched.Add(Key(s[i], s[i + 1]));
            }
            pairCount.Remove(best);
            pairWords.Remove(best);
            foreach (var k in touched)
            {
                if (k == best) continue;
                long c = pairCount.GetValueOrDefault(k);
                if (c > 0) heap.Enqueue(k, (-c, k));
            }
        }
        return (vocab, merges);
    }
}
