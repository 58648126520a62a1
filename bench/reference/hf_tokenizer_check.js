// Cross-check: the HF Rust `tokenizers` library (npm binding, same core as the Python package) loads a tokenizer
// folder written by `actorlab tokenizer train` and encodes `actorlab qa sample --json` sequences to the same ids.
// Usage (outside the repo):  npm install tokenizers@0.23.2
//   actorlab qa sample --profiles P --tokenizer DIR --count 50 --json > cases.jsonl
//   node hf_tokenizer_check.js DIR cases.jsonl
// Each sequence is compared up to its last <|endoftext|>, where truncation cannot have split a pre-token.
const { Tokenizer, BPE, byteLevelPreTokenizer } = require('tokenizers');
const fs = require('fs');
const path = require('path');

(async () => {
  const [dir, casesFile] = process.argv.slice(2);
  const fast = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const gpt2 = new Tokenizer(await BPE.fromFile(path.join(dir, 'vocab.json'), path.join(dir, 'merges.txt')));
  gpt2.setPreTokenizer(byteLevelPreTokenizer(false, true));
  gpt2.addSpecialTokens(['<|endoftext|>', '<unk>']);
  const eos = fast.tokenToId('<|endoftext|>');
  let equal = 0, differ = 0;
  for (const line of fs.readFileSync(casesFile, 'utf8').trim().split('\n')) {
    const c = JSON.parse(line);
    const cut = c.input_ids.lastIndexOf(eos);
    const ids = c.input_ids.slice(0, cut + 1);
    const text = c.text.slice(0, c.text.lastIndexOf('<|endoftext|>') + '<|endoftext|>'.length);
    for (const [name, tok] of [['tokenizer.json', fast], ['vocab.json+merges.txt', gpt2]]) {
      const got = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      if (JSON.stringify(got) === JSON.stringify(ids)) equal++;
      else { differ++; console.log(`${name}: differs on ${JSON.stringify(text.slice(0, 80))}`); }
    }
  }
  console.log(`${equal} encodings equal, ${differ} different`);
  process.exit(differ === 0 ? 0 : 1);
})();
