// The model of a VideoChat2 golden fixture (fixtures/llm/videochat2-*), built from its config.json: shared by the
// llm-bridge golden suite and the CLI's export test.
import { VideoChat2ItMistral, decoderConfig, loraConfig, VIDEOCHAT2_TARGET_MODULES } from '../src/index.js';
import { WordTokenizer, readJson } from './llm_helpers.js';

/** The fixture's Q-Former tokenizer stand-in: lower-cased words in `qformer_vocab`, `[CLS] words [SEP]`. */
class InstructionWords extends WordTokenizer {
  override get padTokenId() {
    return 0;
  }
  override encode(text: string): number[] {
    const unk = this.index.get('[UNK]')!;
    const ids = text.split(/\s+/).filter(Boolean).map((w) => this.index.get(w.toLowerCase()) ?? unk);
    return [this.index.get('[CLS]')!, ...ids, this.index.get('[SEP]')!];
  }
}

/** The model as the fixture's config builds it (stage-3 switches: vision LayerNorm and Q-Former trainable). */
export function buildFixtureModel(dir: string): VideoChat2ItMistral {
  const c = readJson(dir);
  return new VideoChat2ItMistral({
    qformer: {
      vocab_size: c.qformer_vocab.length,
      hidden_size: c.qf.hidden_size,
      num_hidden_layers: c.qf.num_hidden_layers,
      num_attention_heads: c.qf.num_attention_heads,
      intermediate_size: c.qf.intermediate_size,
      max_position_embeddings: c.qf.max_position_embeddings,
      cross_attention_freq: c.qf.cross_attention_freq,
      encoder_width: c.qf.vision_width,
      num_query_token: c.qf.num_query_token,
      extra_num_query_token: c.qf.extra_num_query_token,
      qformer_text_input: c.qformer_text_input,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
      drop_path_rate: 0,
    },
    llm: decoderConfig('llama', { ...c.llm, bos_token_id: c.bos_token_id, eos_token_id: c.eos_token_id, pad_token_id: c.pad_token_id }),
    lora: loraConfig({ r: c.lora.r, loraAlpha: c.lora.alpha, loraDropout: 0, targetModules: VIDEOCHAT2_TARGET_MODULES }),
    maxTxtLen: c.max_txt_len,
    freezeVit: false,
    freezeQformer: false,
    tokenizer: new WordTokenizer(c.llm_vocab),
    qformerTokenizer: new InstructionWords(c.qformer_vocab),
  });
}
