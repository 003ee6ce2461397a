import { render } from "preact";
import "../shared/style.css";
import { ConsoleApp } from "./app";

render(<ConsoleApp />, document.getElementById("app")!);
