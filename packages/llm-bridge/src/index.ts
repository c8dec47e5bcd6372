// The language side of InternVideo2. Each folder mirrors one part of the official code.
export * from './text/index.js'; // stage-2 BERT (xbert.py) and its WordPiece tokenizer
export * from './qformer/index.js'; // BLIP-2 Q-Former and projector (Qformer.py, videochat2_it_mistral.encode_img)
export * from './llm/index.js'; // decoder LLMs (LLaMA, Mistral, Qwen2) and generation
export * from './lora/index.js'; // LoRA with peft's semantics and file layout
export * from './chat/index.js'; // tokenizers, chat templates, the VideoChat2 conversation
export * from './videochat2/index.js'; // the stage-3 model
