// Run by OpenAiJsClientTests: one chat completion with logprobs through the official `openai` npm
// client against MEGAFLOW_BASE_URL; prints the response as JSON for the test to check.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.MEGAFLOW_BASE_URL, apiKey: "not-checked", maxRetries: 0 });
const completion = await client.chat.completions.create({
  model: process.env.MEGAFLOW_MODEL,
  messages: [
    { role: "system", content: "You are a tiny policy." },
    { role: "user", content: "Say something." },
  ],
  max_tokens: 12,
  temperature: 0.8,
  seed: 5,
  logprobs: true,
  top_logprobs: 2,
});
console.log(JSON.stringify(completion));
